// ICMP errors that concern a TCP connection (RFC 9293 §3.9.2.2, RFC 5927, RFC 1122
// §4.2.3.9): a router that cannot deliver a SYN says so, and connect() fails with the
// router's reason after one round trip instead of waiting out 127 s of SYN retries; on an
// established connection the same error is soft: remembered, and reported only if the
// connection then times out.
//
// The network: a (10.0.0.1/24) -- r (10.0.0.254 | 10.0.1.254) -- b (10.0.1.2/24), r
// forwarding, a's default gateway r. Each wire has 1 ms latency.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

struct routed_world {
    sim::world w{{.seed = 3}};
    sim::host& a = w.add_host("a");
    sim::host& r = w.add_host("r");
    sim::host& b = w.add_host("b");
    wire& left = w.add_wire({.latency = 1ms});
    wire& right = w.add_wire({.latency = 1ms});

    routed_world() {
        w.connect(a, left, prefix("10.0.0.1/24"));
        w.connect(r, left, prefix("10.0.0.254/24"));
        w.connect(r, right, prefix("10.0.1.254/24"));
        w.connect(b, right, prefix("10.0.1.2/24"));
        r.stack().set_forwarding(true);
        REQUIRE(a.stack().set_default_gateway(ipv4_address(10, 0, 0, 254)));
        REQUIRE(b.stack().set_default_gateway(ipv4_address(10, 0, 1, 254)));
        w.run_for(10ms); // the hosts' gratuitous ARP announcements come and go
    }
    std::uint64_t counter(sim::host& h, const char* group, const char* name) {
        return h.counters().find(group)->find(name)->value;
    }
    // connect() from a to `to`: its error (0 when it succeeded) and when it ended.
    std::pair<int, duration> connect_from_a(endpoint to) {
        auto p = a.create_process("client");
        const time_point start = w.now();
        auto c = w.run(p->connect(to));
        const duration took = w.now() - start;
        p->terminate("test over");
        w.run(p->join());
        return {c ? 0 : c.error(), took};
    }
};

} // namespace

TEST_CASE("tcp icmp: a SYN the router has no route for fails connect() with ENETUNREACH after "
          "one round trip",
          "[tcp][icmp]") {
    routed_world t;
    auto [err, took] = t.connect_from_a({ipv4_address(192, 168, 7, 7), 80});
    CHECK(err == ENETUNREACH);
    // ARP for the router (a gratuitous announcement makes no entry, as Linux's arp_accept 0:
    // 2 ms there and back), the SYN to it (1 ms), the ICMP back (1 ms).
    CHECK(took == 4ms);
    CHECK(t.counter(t.r, "icmp", "out_dest_unreachs") == 1);
    CHECK(t.counter(t.a, "tcp", "attempt_fails") == 1);
}

TEST_CASE("tcp icmp: a SYN to an address nobody answers ARP for fails connect() with "
          "EHOSTUNREACH when the router's ARP gives up",
          "[tcp][icmp]") {
    routed_world t;
    auto [err, took] = t.connect_from_a({ipv4_address(10, 0, 1, 99), 80});
    CHECK(err == EHOSTUNREACH);
    // The router asks three times a second apart (Linux's mcast_solicit 3, retrans_time 1 s)
    // and gives up at 3 s; far sooner than the 127 s of SYN retries without ICMP.
    CHECK(took > 3s);
    CHECK(took < 4s);
    CHECK(t.counter(t.r, "icmp", "out_dest_unreachs") >= 1);
}

TEST_CASE("tcp icmp: on an established connection the error is soft; the connection times "
          "out with it instead of ETIMEDOUT",
          "[tcp][icmp]") {
    routed_world t;
    auto server = t.b.create_process("server");
    auto client = t.a.create_process("client");
    auto ls = server->listen({ipv4_any, 80}).get();
    REQUIRE(ls);
    server->spawn([&]() -> task<void> { (void)co_await server->accept(*ls); });
    auto c = t.w.run(client->connect({ipv4_address(10, 0, 1, 2), 80}));
    REQUIRE(c);
    REQUIRE(client->set_socket_option(*c, socket_option::user_timeout, 120'000).get());
    // b falls silent: the router's entry for b goes stale, its re-resolution fails, and
    // each retransmission it cannot deliver comes back to a as host unreachable.
    t.right.faults().set_config({.loss = 1.0});
    const std::array<std::byte, 100> data{};
    auto wrote = t.w.run(client->write(*c, data));
    REQUIRE(wrote);
    t.w.run_for(200s);
    std::array<std::byte, 16> buf{};
    auto r = t.w.run(client->read(*c, buf));
    REQUIRE_FALSE(r);
    CHECK(r.error() == EHOSTUNREACH);
    CHECK(t.counter(t.a, "icmp", "in_dest_unreachs") >= 1);
    server->terminate("test over");
    client->terminate("test over");
    t.w.run(server->join());
    t.w.run(client->join());
}
