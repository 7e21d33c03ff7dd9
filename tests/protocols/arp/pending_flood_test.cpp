// ARP's pending queue against the host's memory budget (cache.hpp): datagrams to 200
// neighbours on the link that never answer (what a server sends when spoofed requests
// name addresses nobody holds), while B, resolved, is sent to throughout and C answers.
// The budget is set small (pressure at 512 buffers) so that it, not the 1,024-packet bound,
// is what binds; once resolution fails, the pool is whole again and nothing is charged.
#include "tests/protocols/stack_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;
using namespace std::chrono_literals;

namespace {

const mac_address mac_a{0x02, 0, 0, 0, 0, 0x01};
const mac_address mac_b{0x02, 0, 0, 0, 0, 0x02};
const mac_address mac_c{0x02, 0, 0, 0, 0, 0x03};
const ipv4_address ip_a{10, 0, 0, 1};
const ipv4_address ip_b{10, 0, 0, 2};
const ipv4_address ip_c{10, 0, 0, 3};

constexpr memory_limits small_budget{.low = 384, .pressure = 512, .hard = 768};

// Frames sent to `mac`, taken off the NIC; the rest (ARP requests) dropped.
int take_sent_to(test_nic& card, mac_address mac) {
    int n = 0;
    while (!card.sent.empty()) {
        const auto f = card.take_sent();
        n += mac_address::from_bytes(std::span(f).first(6)) == mac;
    }
    return n;
}

} // namespace

TEST_CASE("arp memory: datagrams to 200 silent neighbours stay within the budget's share, a "
          "resolved neighbour is served throughout, one that answers is reached, and the pool "
          "is whole once resolution fails",
          "[arp][memory][adversarial]") {
    world w;
    native::options o;
    o.memory = small_budget;
    host a(w, "eth0", mac_a, {ip_a, 24}, o);
    auto& cache = a.stack.at(a.eth0).arp();
    auto inject_arp = [&](const arp::repr& r, mac_address dst) {
        a.card.inject(ethernet_frame(r.sender_mac, dst, ethernet::ethertype::arp, arp_packet(r)),
                      w.pool);
        w.settle();
    };
    inject_arp({arp::operation::request, mac_b, ip_b, {}, ip_a}, mac_broadcast); // B is known
    ref<socket_object> keep = a.stack.socket(socket_type::datagram).value();
    auto& s = static_cast<udp::socket&>(*keep);
    REQUIRE(s.bind({ip_a, 5000}));
    w.settle();
    a.card.sent.clear();
    const std::uint32_t in_use_before = w.pool.in_use();

    const bytes payload(1000, std::byte{0x5a});
    int to_b = 0;
    int at_b = 0;
    std::uint32_t most_held = 0;
    for (int n = 0; n < 200; ++n) {
        const ipv4_address silent(10, 0, 0, static_cast<std::uint8_t>(20 + n));
        for (int k = 0; k < 10; ++k)
            REQUIRE(s.send(payload, {silent, 7}));
        w.settle();
        most_held = std::max(most_held, cache.waiting_buffers());
        if (n % 10 == 9) {
            REQUIRE(s.send(payload, {ip_b, 7}));
            w.settle();
            ++to_b;
        }
        at_b += take_sent_to(a.card, mac_b);
    }
    INFO("the pending queue held " << most_held << " buffers at the most");
    CHECK(at_b == to_b); // B was served at once, every time
    CHECK(most_held > 400);
    CHECK(most_held <= small_budget.pressure);
    CHECK(a.counter("memory.arp_pending_buffers") == cache.waiting_buffers());
    CHECK(cache.waiting() <= cache.opts().max_queued_total);
    CHECK(a.counter("arp.unres_pressure_discards") > 1000);
    CHECK(a.counter("arp.unres_discards") >= a.counter("arp.unres_pressure_discards"));

    // C, new, answers: its first datagram may be dropped, but its request goes out, and once
    // the reply is in the next one leaves at once.
    (void)s.send(payload, {ip_c, 7});
    w.settle();
    (void)take_sent_to(a.card, mac_c);
    inject_arp({arp::operation::reply, mac_c, ip_c, mac_a, ip_a}, mac_a);
    REQUIRE(s.send(payload, {ip_c, 7}));
    w.settle();
    CHECK(take_sent_to(a.card, mac_c) >= 1);

    // Resolution fails for the 200 (three requests a second apart): what waited is dropped.
    w.advance(5s);
    CHECK(a.counter("arp.resolution_failures") == 200);
    CHECK(cache.waiting() == 0);
    CHECK(a.counter("memory.arp_pending_buffers") == 0);
    CHECK(a.counter("memory.queued_buffers") == 0);
    a.card.sent.clear();
    CHECK(w.pool.in_use() == in_use_before);
}
