#pragma once
// The echo server of the harness tests: port 7, one coroutine per connection, each echoing
// what it reads until end of stream.
#include "framework/process/process.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace coronet::sim_test {

// Echoes what it reads until end of stream; keeps a copy in `seen` when given.
inline task<> echo_session(process& p, unique_handle conn, std::vector<std::byte>* seen = nullptr) {
    std::vector<std::byte> buf(4096);
    for (;;) {
        auto n = co_await p.read(conn, buf);
        if (!n || *n == 0) co_return;
        if (seen != nullptr)
            seen->insert(seen->end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        auto w = co_await p.write_all(conn, std::span(buf).first(*n));
        if (!w) co_return;
    }
}

inline task<> echo_server(process& p) {
    auto ls = p.own(co_await p.listen({ipv4_any, 7}));
    if (!ls) co_return;
    for (;;) {
        auto conn = p.own(co_await p.accept(*ls));
        if (!conn) co_return;
        p.spawn(echo_session(p, std::move(*conn)));
    }
}

} // namespace coronet::sim_test
