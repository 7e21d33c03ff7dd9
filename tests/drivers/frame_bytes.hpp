#pragma once
// Frames as driver tests make and read them: bytes into a packet of a pool, and back.
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace coronet::testing {

inline packet packet_from(buffer_pool& pool, std::span<const std::byte> bytes) {
    counter copied;
    packet p = packet::allocate(pool).value();
    p.append(bytes, copied).value();
    return p;
}

inline std::vector<std::byte> bytes_of(const packet& p) {
    std::vector<std::byte> out(p.length());
    p.copy_out(0, out).value();
    return out;
}

} // namespace coronet::testing
