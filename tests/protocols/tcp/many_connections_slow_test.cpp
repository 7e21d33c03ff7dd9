// 100,000 concurrent connections between two simulated hosts in one process (virtual time):
// opened by 500 client coroutines to 7 server ports (more than the 16,384 ephemeral ports,
// so connect() must share ports across peers, RFC 6056), each used for a request and its
// response, all open at once at the peak, then closed. Release only: `scripts/test --slow`.
#include "tests/protocols/tcp/many_connections.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp many connections: 100,000 open at once, each used, then all closed",
          "[tcp][many][slow]") {
    const std::size_t n = 100'000;
    const auto r = many_connections(n, 7, 500);
    check_many(r, n);
    CHECK(r.client_ports <= 16384); // fewer ports than connections: shared across peers
}
