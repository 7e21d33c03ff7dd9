#pragma once
// Echo helpers of the sharded-host tests: a server side that echoes until end of stream, and
// a client side that checks what came back.
#include "framework/process/process.hpp"

#include <cstddef>
#include <vector>

namespace coronet::steer_test {

// Reads until end of stream, writing back what it read, then closes.
inline task<void> echo(process& p, handle h) {
    std::vector<std::byte> buf(4096);
    for (;;) {
        auto n = co_await p.read(h, buf);
        if (!n || *n == 0) break;
        auto w = co_await p.write_all(h, std::span(buf).first(*n));
        if (!w) break;
    }
    (void)co_await p.close(h);
}

// Sends `out`, shuts down its side, reads the echo to the end: true when it came back whole.
inline task<bool> round_trip(process& p, handle h, std::vector<std::byte> out) {
    auto w = co_await p.write_all(h, out);
    if (!w) co_return false;
    (void)p.shutdown(h, shutdown_how::write).get();
    std::vector<std::byte> in, buf(4096);
    for (;;) {
        auto n = co_await p.read(h, buf);
        if (!n) co_return false;
        if (*n == 0) break;
        in.insert(in.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    (void)co_await p.close(h);
    co_return in == out;
}

} // namespace coronet::steer_test
