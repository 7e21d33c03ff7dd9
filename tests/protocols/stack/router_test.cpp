// Three hosts: A (10.0.0.1/24) and B (10.0.1.2/24) on two links joined by router R with
// forwarding on. Each host has R as its default gateway.
#include "tests/protocols/stack_fixture.hpp"

#include "framework/process/process.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;
using namespace std::chrono_literals;

namespace {

struct three_hosts {
    world w;
    host a{w, "a0", {0x02, 0, 0, 0, 0, 0x01}, {{10, 0, 0, 1}, 24}};
    host r{w, "r0", {0x02, 0, 0, 0, 0, 0xf0}, {{10, 0, 0, 254}, 24}};
    test_nic r1{w.sched, r.registry, nic_config{.name = "r1", .mac = {0x02, 0, 0, 0, 1, 0xf0}, .mtu = 1000, .features = {}}};
    host b{w, "b0", {0x02, 0, 0, 0, 1, 0x02}, {{10, 0, 1, 2}, 24}, {}, 1000};

    three_hosts() {
        r.stack.add_interface(r1, {{10, 0, 1, 254}, 24});
        w.settle();
        a.card.sent.clear();
        r.card.sent.clear();
        r1.sent.clear();
        b.card.sent.clear();
        connect(a, r, 1ms);
        r1.peer = &b.card;
        b.card.peer = &r1;
        r1.latency = b.card.latency = 2ms;
        r.stack.set_forwarding(true);
        a.stack.set_default_gateway({10, 0, 0, 254}).value();
        b.stack.set_default_gateway({10, 0, 1, 254}).value();
    }
};

} // namespace

TEST_CASE("router: ping across a router, and TTL expiry reported back", "[stack][router]") {
    three_hosts t;
    CHECK(t.a.stack.set_default_gateway({192, 168, 0, 1}).error() == ENETUNREACH);
    // First ping: A asks for R (2 ms), the request reaches R (1 ms), R asks for B (4 ms),
    // then B (2 ms); B and R learnt their askers, so the reply comes straight back (3 ms).
    auto first = t.w.sched.run(t.a.stack.ping({10, 0, 1, 2}, 56, 1s));
    CHECK(first.value() == 2ms + 1ms + 4ms + 2ms + 3ms);
    CHECK(t.w.sched.run(t.a.stack.ping({10, 0, 1, 2}, 56, 1s)).value() == 6ms);
    CHECK(t.r.counter("ipv4.forw_datagrams") == 4);
    // R pings too, from the interface towards B.
    CHECK(t.w.sched.run(t.r.stack.ping({10, 0, 1, 2}, 56, 1s)).value() == 4ms);
}

TEST_CASE("router: UDP between subnets, refragmented for the smaller MTU", "[stack][router]") {
    three_hosts t;
    auto pa = process::create("a", &t.a.stack);
    auto pb = process::create("b", &t.b.stack);
    bytes data(3000);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::byte>(i * 13);
    bytes got;
    endpoint from;
    pb->spawn([&]() -> task<void> {
        auto h = pb->socket(socket_type::datagram).get().value();
        REQUIRE(pb->bind(h, {ipv4_any, 5353}).get());
        bytes buf(5000);
        auto r = co_await pb->recv_from(h, buf);
        REQUIRE(r);
        got.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->size));
        from = r->from;
    });
    pa->spawn([&]() -> task<void> {
        auto resolved = co_await t.a.stack.ping({10, 0, 1, 2}); // resolve both links first
        REQUIRE(resolved);
        auto h = pa->socket(socket_type::datagram).get().value();
        auto s = co_await pa->send_to(h, data, {{10, 0, 1, 2}, 5353});
        REQUIRE(s);
    });
    t.w.sched.run(pa->join());
    t.w.sched.run(pb->join());
    CHECK(got == data);
    CHECK(from.address == ipv4_address{10, 0, 0, 1});
    CHECK(t.a.counter("ipv4.frag_creates") == 3); // 1480 + 1480 + 48 at MTU 1500
    CHECK(t.r.counter("ipv4.frag_creates") >= 4); // each cut again for MTU 1000
    CHECK(t.b.counter("ipv4.reasm_oks") == 1);
}
