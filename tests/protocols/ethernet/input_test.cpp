// Ethernet input of the native stack: which destinations are ours, which ethertypes it
// takes, and the counter for each frame it drops.
#include "tests/protocols/stack_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;

namespace {
const mac_address mac_a{0x02, 0, 0, 0, 0, 0x01};
const mac_address mac_b{0x02, 0, 0, 0, 0, 0x02};
const ipv4_address ip_a{10, 0, 0, 1};
const ipv4_address ip_b{10, 0, 0, 2};
} // namespace

TEST_CASE("ethernet: frames for other hosts, unjoined groups and unknown types are dropped",
          "[ethernet]") {
    world w;
    host a(w, "eth0", mac_a, {ip_a, 24});
    w.settle();
    a.card.sent.clear();
    ref<socket_object> keep = a.stack.socket(socket_type::datagram).value();
    REQUIRE(keep->bind({ipv4_any, 9}));
    const auto datagram = ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 1),
                                      udp_datagram(ip_b, ip_a, 1000, 9, text("x")));
    const mac_address group{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    auto send = [&](mac_address dst, ethernet::ethertype type) {
        a.card.inject(ethernet_frame(mac_b, dst, type, datagram), w.pool);
        w.settle();
    };
    send(mac_a, ethernet::ethertype::ipv4); // ours
    CHECK(a.counter("udp.in_datagrams") == 1);
    send(mac_address{0x02, 0, 0, 0, 0, 0x09}, ethernet::ethertype::ipv4);
    CHECK(a.counter("ethernet.in_not_for_us") == 1);
    send(group, ethernet::ethertype::ipv4);
    CHECK(a.counter("ethernet.in_not_for_us") == 2);
    a.stack.at(a.eth0).filter().join(group);
    send(group, ethernet::ethertype::ipv4); // joined: taken (IP then finds it is not ours)
    CHECK(a.counter("ethernet.in_not_for_us") == 2);
    CHECK(a.counter("ipv4.in_receives") == 2);
    send(mac_a, ethernet::ethertype::ipv6);
    CHECK(a.counter("ethernet.in_unknown_type") == 1);
    a.card.inject(hex("020000000001 0200000000"), w.pool); // 11 bytes
    w.settle();
    CHECK(a.counter("ethernet.in_truncated") == 1);
    CHECK(a.counter("ethernet.in_frames") == 6);
    CHECK(a.card.sent.empty());
}
