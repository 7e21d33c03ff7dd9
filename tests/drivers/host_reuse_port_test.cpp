// The host stack on several shards: each shard is a thread with its own scheduler, io_uring
// and host_stack, sharing nothing, and host_options::reuse_port lets every shard listen on
// the same port, the kernel spreading the connections across the listeners (SO_REUSEPORT).
// On loopback only; the clients are plain blocking kernel sockets of the test's thread.
#include "tests/drivers/host_shards.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <vector>

using namespace coronet;
using namespace coronet::test;

namespace {

host::host_options reusing() { return {.reuse_port = true}; }

} // namespace

TEST_CASE("host stack: two shards listening on one port with reuse_port share 64 connections",
          "[host][reuse_port]") {
    constexpr int n = 64;
    two_shards shards(reusing());
    REQUIRE(shards.listening());
    auto& [first, at, second] = shards;
    CHECK(*second.listening() == at);

    // All connected first, so that each listener's share is the kernel's choice alone.
    std::vector<std::unique_ptr<kernel_client>> clients;
    for (int i = 0; i < n; ++i)
        clients.push_back(std::make_unique<kernel_client>(at));
    int exact = 0;
    for (int i = 0; i < n; ++i) {
        REQUIRE(clients[i]->connected);
        if (clients[i]->round_trip(request_of(i, 1000 + i))) ++exact;
    }
    clients.clear(); // their sessions read the end of stream and close
    shards.stop();

    std::printf("64 connections over two reuse_port listeners: %d and %d\n", first.accepted,
                second.accepted);
    CHECK(exact == n);
    CHECK(first.accepted > 0);
    CHECK(second.accepted > 0);
    CHECK(first.accepted + second.accepted == n);
    CHECK(first.echoed + second.echoed == n * 1000 + n * (n - 1) / 2);
    CHECK(shards.clean());
}

TEST_CASE("host stack: 1,000 short connections spread over two reuse_port shards",
          "[host][reuse_port]") {
    constexpr int n = 1000;
    two_shards shards(reusing());
    REQUIRE(shards.listening());
    const int exact = short_connections(shards.at, n);
    shards.stop();
    auto& [first, at, second] = shards;
    std::printf("1,000 short connections over two reuse_port listeners: %d and %d\n",
                first.accepted, second.accepted);
    CHECK(exact == n);
    CHECK(first.accepted > 0);
    CHECK(second.accepted > 0);
    CHECK(first.accepted + second.accepted == n);
    CHECK(shards.clean());
}

TEST_CASE("host stack: without reuse_port a second listener on a port in use fails with "
          "EADDRINUSE",
          "[host][reuse_port]") {
    // The other stack reuses the port; the kernel wants every listener of a port to.
    const bool first_reuses = GENERATE(false, true);
    CAPTURE(first_reuses);
    echo_shard first({.reuse_port = first_reuses}, {loopback, 0});
    REQUIRE(first.listening());
    echo_shard second({}, *first.listening());
    REQUIRE_FALSE(second.listening());
    CHECK(second.listening().error() == EADDRINUSE);
}

namespace {

// Binds a new socket of `type` to `at` after setting socket_option::reuse_port to `reuse`
// (none when negative): the bind's result, the bound endpoint on success.
result<endpoint> bind_one(process& p, socket_type type, const endpoint& at, int reuse) {
    auto h = p.socket(type);
    if (!h) return error{h.error()};
    if (reuse >= 0) {
        if (auto r = p.set_socket_option(*h, socket_option::reuse_port, reuse); !r)
            return error{r.error()};
    }
    if (auto r = p.bind(*h, at); !r) return error{r.error()};
    return p.get_socket_name(*h);
}

} // namespace

TEST_CASE("host stack: socket_option::reuse_port is SO_REUSEPORT, for stream and datagram "
          "sockets",
          "[host][reuse_port]") {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    const bool stack_reuses = GENERATE(false, true);
    CAPTURE(stack_reuses);
    host::host_stack stack(reactor, {.reuse_port = stack_reuses});
    auto p = process::create("app", &stack);
    const socket_type type = GENERATE(socket_type::stream, socket_type::datagram);
    CAPTURE(type == socket_type::stream);

    auto h = p->socket(type).value();
    CHECK(p->get_socket_option(h, socket_option::reuse_port).value() == (stack_reuses ? 1 : 0));

    // Set on both sockets by the application: the second bind shares the port.
    auto first = bind_one(*p, type, {loopback, 0}, 1);
    REQUIRE(first);
    CHECK(bind_one(*p, type, *first, 1).value() == *first);
    // Turned off on a socket before its bind: the port is not shared with it.
    CHECK(bind_one(*p, type, *first, 0).error() == EADDRINUSE);
    // Left as the stack made it.
    const auto left = bind_one(*p, type, *first, -1);
    if (stack_reuses)
        CHECK(left.value() == *first);
    else
        CHECK(left.error() == EADDRINUSE);

    // And through listen_options: a listener beside one of the stack's own.
    auto ls = p->listen({loopback, 0}, {.reuse_port = true});
    REQUIRE(ls);
    const endpoint at = p->get_socket_name(*ls).value();
    CHECK(p->listen(at, {.reuse_port = true}).has_value());
    const auto plain = p->listen(at, {.reuse_port = false}); // the stack's default
    if (stack_reuses)
        CHECK(plain.has_value());
    else
        CHECK(plain.error() == EADDRINUSE);
}
