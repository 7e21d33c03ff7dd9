// Many connections at once between two simulated hosts (2,000 here; 100,000 in the slow
// test), and connect()'s port choice (RFC 6056): one ephemeral port serves connections to
// different peers, and only when every port is taken towards a peer does connect() fail.
#include "tests/protocols/tcp/many_connections.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp many connections: 2,000 open at once, each used, then all closed",
          "[tcp][many]") {
    const std::size_t n = 2000;
    check_many(many_connections(n, 2, 100), n);
}

TEST_CASE("tcp connect: an ephemeral port is shared by connections to different peers, "
          "unique per 4-tuple (RFC 6056)", "[tcp][ports]") {
    tcp::config c;
    c.ephemeral_first = 50000;
    c.ephemeral_last = 50015; // 16 ports
    pair_world pw({}, c);
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    auto l80 = server->listen({ipv4_any, 80}, {.backlog = 64}).get().value();
    auto l81 = server->listen({ipv4_any, 81}, {.backlog = 64}).get().value();
    std::map<std::uint16_t, int> uses; // local port -> connections using it
    std::set<std::pair<std::uint16_t, std::uint16_t>> tuples;
    int failed_errno = 0;
    std::size_t opened = 0;
    client->spawn([&]() -> task<void> {
        for (int i = 0; i < 32; ++i) {
            const std::uint16_t to = i % 2 == 0 ? 80 : 81;
            auto h = co_await client->connect({b_addr, to});
            if (!h) co_return;
            ++opened;
            const auto local = client->get_socket_name(*h).get().value().port.value();
            ++uses[local];
            tuples.insert({local, to});
        }
        // Every port is taken towards b:80 now: the 17th connection there cannot be made.
        auto h = co_await client->connect({b_addr, 80});
        failed_errno = h ? 0 : h.error();
    });
    pw.w.run_until([&] { return failed_errno != 0 || opened == 33; }, 60s);
    CHECK(opened == 32);
    CHECK(failed_errno == EADDRNOTAVAIL);
    CHECK(tuples.size() == 32); // unique 4-tuples
    CHECK(uses.size() == 16);   // all 16 ports, each twice: once towards each server port
    for (auto [port, count] : uses) {
        CHECK(port >= 50000);
        CHECK(port <= 50015);
        CHECK(count == 2);
    }
    // A port bound by the application is not shared: bind() to a port in use fails.
    auto s = client->socket(socket_type::stream).get().value();
    CHECK(client->bind(s, {a_addr, 50000}).get().error() == EADDRINUSE);
    (void)l80;
    (void)l81;
    server->terminate("test over");
    client->terminate("test over");
    pw.w.run(server->join());
    pw.w.run(client->join());
}
