// ICMP in the native stack: echo reply bytes, the ping client's round trip, port
// unreachable and its rate limit, and the error a connected UDP socket then sees.
#include "tests/protocols/stack_fixture.hpp"

#include "framework/process/process.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;
using namespace std::chrono_literals;

namespace {

const mac_address mac_a{0x02, 0, 0, 0, 0, 0x01};
const mac_address mac_b{0x02, 0, 0, 0, 0, 0x02};
const ipv4_address ip_a{10, 0, 0, 1};
const ipv4_address ip_b{10, 0, 0, 2};

struct lone_host {
    world w;
    host a;
    explicit lone_host(native::options o = {}) : a(w, "eth0", mac_a, {ip_a, 24}, o) {
        a.card.inject(ethernet_frame(mac_b, mac_broadcast, ethernet::ethertype::arp,
                                     arp_packet({arp::operation::request, mac_b, ip_b, {}, ip_a})),
                      w.pool);
        w.settle();
        a.card.sent.clear();
    }
    void inject_ip(const bytes& datagram) {
        a.card.inject(ethernet_frame(mac_b, mac_a, ethernet::ethertype::ipv4, datagram), w.pool);
        w.settle();
    }
};

struct pair_world {
    world w;
    host a{w, "a0", mac_a, {ip_a, 24}};
    host b{w, "b0", mac_b, {ip_b, 24}};
    explicit pair_world(duration latency) {
        w.settle();
        a.card.sent.clear();
        b.card.sent.clear();
        connect(a, b, latency);
    }
};

} // namespace

TEST_CASE("icmp: an echo request is answered with the exact echo reply", "[icmp]") {
    lone_host t;
    // Echo request, identifier 0x1234, sequence 1, data "abcdefgh".
    const auto request = hex("0800 5435 1234 0001 6162636465666768");
    REQUIRE(checksum::verify(request));
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::icmp, 0x0101), request));
    REQUIRE(t.a.card.sent.size() == 1);
    auto f = t.a.card.take_sent();
    // Type 0, the checksum 0x0800 higher (RFC 1624), everything else as it came.
    const auto reply = hex("0000 5c35 1234 0001 6162636465666768");
    CHECK(f == ethernet_frame(mac_a, mac_b, ethernet::ethertype::ipv4,
                              ip_datagram(ip_header(ip_a, ip_b, ipv4::protocol::icmp, ip_id_of(f)), reply)));
    CHECK(t.a.counter("icmp.in_echos") == 1);
    CHECK(t.a.counter("icmp.out_echo_reps") == 1);
}

TEST_CASE("icmp: bad checksums and broadcast pings are not answered", "[icmp]") {
    lone_host t;
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::icmp, 1), hex("0800 0000 1234 0001 61626364")));
    CHECK(t.a.counter("icmp.in_csum_errors") == 1);
    t.inject_ip(ip_datagram(ip_header(ip_b, {10, 0, 0, 255}, ipv4::protocol::icmp, 2),
                            hex("0800 5435 1234 0001 6162636465666768")));
    CHECK(t.a.counter("icmp.in_echos_ignored") == 1);
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::icmp, 3), hex("0d00 f2ff 0000 0000")));
    CHECK(t.a.counter("icmp.in_unknown_types") == 1); // a timestamp request
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::icmp, 4), hex("0800 f7")));
    CHECK(t.a.counter("icmp.in_errors") == 2); // the bad checksum, then the truncated one
    CHECK(t.a.card.sent.empty());
}

TEST_CASE("icmp: ping measures the round trip on the scheduler's clock", "[icmp][ping]") {
    pair_world t(5ms);
    auto first = t.w.sched.run(t.a.stack.ping(ip_b, 56, 1s));
    // ARP request and reply (10 ms), then the echo and its reply (10 ms).
    CHECK(first.value() == 20ms);
    auto second = t.w.sched.run(t.a.stack.ping(ip_b, 56, 1s));
    CHECK(second.value() == 10ms);
    CHECK(t.a.counter("icmp.out_echos") == 2);
    CHECK(t.a.counter("icmp.in_echo_reps") == 2);
    CHECK(t.b.counter("icmp.out_echo_reps") == 2);
    // A large ping travels in fragments both ways.
    CHECK(t.w.sched.run(t.a.stack.ping(ip_b, 3000, 1s)).value() == 10ms);
}

TEST_CASE("icmp: ping fails with ETIMEDOUT, or EHOSTUNREACH when ARP gives up", "[icmp][ping]") {
    pair_world t(5ms);
    t.b.card.drop_next = 1; // the first echo reply is lost
    // ARP first (10 ms), then nothing for the rest of the second.
    auto lost = t.w.sched.run(t.a.stack.ping(ip_b, 56, 1s));
    CHECK(lost.error() == ETIMEDOUT);
    const auto start = t.w.now();
    auto nobody = t.w.sched.run(t.a.stack.ping({10, 0, 0, 3}, 56, 10s));
    CHECK(nobody.error() == EHOSTUNREACH);
    CHECK(t.w.now() - start == 3s); // three requests one second apart
    CHECK(t.w.sched.run(t.a.stack.ping({192, 168, 1, 1})).error() == ENETUNREACH);
}

TEST_CASE("icmp: a datagram to a closed port is answered with port unreachable", "[icmp]") {
    lone_host t;
    const auto d = ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 0x1c46),
                               udp_datagram(ip_b, ip_a, 40000, 9, text("hello")));
    t.inject_ip(d);
    CHECK(t.a.counter("udp.no_ports") == 1);
    REQUIRE(t.a.card.sent.size() == 1);
    auto f = t.a.card.take_sent();
    bytes msg(icmp::header_length + 28);
    icmp::emit({icmp::message::destination_unreachable, icmp::unreachable::port, 0, 0, 0, std::span(d).first(28)}, msg);
    CHECK(f == ethernet_frame(mac_a, mac_b, ethernet::ethertype::ipv4,
                              ip_datagram(ip_header(ip_a, ip_b, ipv4::protocol::icmp, ip_id_of(f)), msg)));
    // Not for a broadcast datagram (RFC 1122 §4.1.3.1).
    t.inject_ip(ip_datagram(ip_header(ip_b, {10, 0, 0, 255}, ipv4::protocol::udp, 2),
                            udp_datagram(ip_b, {10, 0, 0, 255}, 40000, 9, text("all"))));
    CHECK(t.a.counter("udp.no_ports") == 2);
    CHECK(t.a.card.sent.empty());
}

TEST_CASE("icmp: errors are rate limited by a token bucket", "[icmp]") {
    native::options o;
    o.icmp_errors = {.rate = 10, .burst = 5};
    lone_host t(o);
    auto closed = [&](std::uint16_t i) {
        t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, i),
                                udp_datagram(ip_b, ip_a, 40000, 9, text("x"))));
    };
    for (std::uint16_t i = 0; i < 20; ++i)
        closed(i);
    CHECK(t.a.card.sent.size() == 5); // the burst
    CHECK(t.a.counter("icmp.out_rate_limited") == 15);
    t.w.advance(99ms);
    closed(100);
    CHECK(t.a.card.sent.size() == 5); // 0.99 of a token
    t.w.advance(1ms);
    closed(101);
    closed(102);
    CHECK(t.a.card.sent.size() == 6); // one token in 100 ms at 10/s
    CHECK(t.a.counter("icmp.out_dest_unreachs") == 6);
}

TEST_CASE("icmp: port unreachable makes a connected UDP socket's next call ECONNREFUSED", "[icmp][udp]") {
    pair_world t(1ms);
    auto p = process::create("client", &t.a.stack);
    int write_error = 0, read_error = 0;
    p->spawn([&]() -> task<void> {
        auto h = p->socket(socket_type::datagram).get().value();
        auto connected = co_await p->connect(h, {ip_b, 9});
        REQUIRE(connected);
        auto w1 = co_await p->write(h, text("anyone?"));
        REQUIRE(w1);
        (void)co_await p->sleep(100ms); // the port unreachable comes back meanwhile
        auto w2 = co_await p->write(h, text("again"));
        write_error = w2.error();
        auto w3 = co_await p->write(h, text("third"));
        REQUIRE(w3); // reported once
        (void)co_await p->sleep(100ms);
        std::array<std::byte, 10> buf;
        auto r = co_await p->read(h, buf);
        read_error = r.error();
    });
    t.w.sched.run(p->join());
    CHECK(write_error == ECONNREFUSED);
    CHECK(read_error == ECONNREFUSED);
    CHECK(t.b.counter("icmp.out_dest_unreachs") == 2);
    CHECK(t.a.counter("icmp.in_dest_unreachs") == 2);
}
