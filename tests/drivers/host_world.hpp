#pragma once
// What the host-stack tests share: one thread's host stack on loopback (a scheduler, its
// io_uring reactor and the stack, with options), a connected pair of processes, and
// recognisable bytes.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <catch2/catch.hpp>
#include <span>
#include <string>

namespace coronet::test {

inline const ipv4_address loopback(127, 0, 0, 1);

struct host_world {
    explicit host_world(host::host_options o = {}) : stack(reactor, o) {}
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack;
};

// A listener in `server` and a client connection to it; `accepted` is set once accepted.
struct connected_pair {
    explicit connected_pair(host_world& w) {
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

} // namespace coronet::test
