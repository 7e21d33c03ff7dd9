#pragma once
// What the host-stack tests share: a scheduler with its io_uring reactor and a host stack on
// it, a connected pair of processes on loopback, and a recognisable byte pattern.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <catch2/catch.hpp>
#include <span>
#include <string>

namespace coronet::host_test {

struct world {
    explicit world(host::host_options o = {}) : stack(reactor, o) {}
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack;
};

inline const ipv4_address loopback(127, 0, 0, 1);

// A listener in `server` and a client connection to it; `accepted` is set once accepted.
struct connected_pair {
    explicit connected_pair(world& w) {
        server = process::create("server", &w.stack);
        client = process::create("client", &w.stack);
        ls = server->listen({loopback, 0}).value();
        where = server->get_socket_name(ls).value();
        server->spawn([this]() -> task<void> {
            auto c = co_await server->accept(ls);
            REQUIRE(c);
            accepted = *c;
        });
        client->spawn([this]() -> task<void> {
            auto c = co_await client->connect(where);
            REQUIRE(c);
            conn = *c;
        });
        w.sched.run_until([this] { return bool(accepted) && bool(conn); });
    }
    ref<process> server, client;
    handle ls{}, accepted{}, conn{};
    endpoint where{};
};

inline std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
    return s;
}
inline std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

} // namespace coronet::host_test
