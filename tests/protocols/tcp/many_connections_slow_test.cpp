// 100,000 concurrent connections between two simulated hosts in one process (virtual time):
// opened by 500 client coroutines to 7 server ports (more than the 16,384 ephemeral ports,
// so connect() must share ports across peers, RFC 6056), each used for a request and its
// response, all open at once at the peak, then closed. Release only: `scripts/test --slow`.
#include "tests/protocols/tcp/many_connections.hpp"

#include <catch2/catch.hpp>
#include <cstdio>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp many connections: 100,000 open at once, each used, then all closed",
          "[tcp][many][slow]") {
    const std::size_t n = 100'000;
    auto r = many_connections(n, 7, 500);
    std::printf("100,000 connections: %.0f heap bytes per connection (both ends), %zu client ports\n",
                r.heap_per_connection, r.client_ports);
    INFO(r.counters);
    CHECK(r.connect_error == 0);
    CHECK(r.server_error == 0);
    CHECK(r.opened == n);
    CHECK(r.served == n);
    CHECK(r.answered == n);
    CHECK(r.peak_client == n);
    CHECK(r.peak_server == n);
    CHECK(r.client_ports <= 16384); // fewer ports than connections: shared across peers
    CHECK(r.heap_per_connection <= 2 * 2048.0);
    CHECK(r.left_client == 0);
    CHECK(r.left_server == 0);
    CHECK(r.curr_estab == 0);
    CHECK(r.pools_back);
}
