#pragma once
// Payloads as TCP input hands them to the receive queues, for the queue tests: each in a pool
// buffer of its own, behind the 54 bytes of headers input has already pulled.
#include "framework/buffer/packet.hpp"

#include <catch2/catch.hpp>

#include <span>
#include <string>

namespace coronet::tcp_test {

// The stream's bytes [from, from + n): letters, so that a failed comparison reads.
inline std::string text(std::size_t n, std::size_t from = 0) {
    std::string s;
    for (std::size_t i = from; i < from + n; ++i)
        s += static_cast<char>('a' + i % 26);
    return s;
}

// Bytes [from, from + n) of the stream; `wire` counts what the "NIC" wrote to build the frame.
inline packet received_payload(buffer_pool& pool, counter& wire, std::size_t n, std::size_t from) {
    auto p = packet::allocate(pool, 0);
    REQUIRE(p);
    const std::string frame = std::string(54, 'h') + text(n, from);
    REQUIRE(p->append(std::as_bytes(std::span(frame)), wire));
    REQUIRE(p->pull_header(54));
    return std::move(*p);
}

} // namespace coronet::tcp_test
