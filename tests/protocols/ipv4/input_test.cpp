// IPv4 input and forwarding in the native stack, as packet traces: each malformed header
// dropped under its counter; forwarding off and on; TTL expiry; longest-prefix match.
#include "tests/protocols/stack_fixture.hpp"

#include "protocols/ipv4/route.hpp"

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
    host a{w, "eth0", mac_a, {ip_a, 24}};
    lone_host() {
        // B is known (it asked for us), so that answers go out without ARP.
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

bytes valid_udp_to_a(std::uint16_t dport = 9) {
    return ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 0x1234),
                       udp_datagram(ip_b, ip_a, 4000, dport, text("ping")));
}

void fix_checksum(bytes& d) {
    store_be16(std::span(d).subspan(ipv4::field::checksum), 0);
    const std::size_t ihl = std::min<std::size_t>(d.size(), (std::to_integer<unsigned>(d[0]) & 0x0f) * 4u);
    store_be16(std::span(d).subspan(ipv4::field::checksum), checksum::compute(std::span(d).first(ihl)));
}

} // namespace

TEST_CASE("ipv4: each malformed header is dropped under its own counter", "[ipv4]") {
    lone_host t;
    ref<socket_object> keep = t.a.stack.socket(socket_type::datagram).value();
    REQUIRE(keep->bind({ipv4_any, 9}));
    struct bad_case {
        const char* name;
        bytes datagram;
        const char* counter;
    };
    std::vector<bad_case> cases;
    {
        auto d = valid_udp_to_a();
        d.resize(19);
        cases.push_back({"shorter than 20 bytes", d, "ipv4.in_truncated_pkts"});
    }
    {
        auto d = valid_udp_to_a();
        d[0] = std::byte{0x65};
        fix_checksum(d);
        cases.push_back({"version 6", d, "ipv4.in_hdr_errors"});
    }
    {
        auto d = valid_udp_to_a();
        d[0] = std::byte{0x44};
        cases.push_back({"IHL 4", d, "ipv4.in_hdr_errors"});
    }
    {
        auto d = valid_udp_to_a();
        d[0] = std::byte{0x4f}; // 60 bytes of header in a 32-byte datagram
        cases.push_back({"IHL beyond the frame", d, "ipv4.in_truncated_pkts"});
    }
    {
        auto d = valid_udp_to_a();
        store_be16(std::span(d).subspan(ipv4::field::total_length), 19);
        fix_checksum(d);
        cases.push_back({"total length below the header", d, "ipv4.in_hdr_errors"});
    }
    {
        auto d = valid_udp_to_a();
        store_be16(std::span(d).subspan(ipv4::field::total_length), 100);
        fix_checksum(d);
        cases.push_back({"total length beyond the frame", d, "ipv4.in_truncated_pkts"});
    }
    {
        auto d = valid_udp_to_a();
        d[ipv4::field::checksum] ^= std::byte{0x01};
        cases.push_back({"bad checksum", d, "ipv4.in_csum_errors"});
    }
    {
        auto d = ip_datagram(ip_header(ipv4_broadcast, ip_a, ipv4::protocol::udp),
                             udp_datagram(ipv4_broadcast, ip_a, 4000, 9, text("x")));
        cases.push_back({"broadcast source", d, "ipv4.in_addr_errors"});
    }
    {
        auto d = ip_datagram(ip_header(ip_b, ipv4_address{10, 0, 0, 77}, ipv4::protocol::udp),
                             udp_datagram(ip_b, ipv4_address{10, 0, 0, 77}, 4000, 9, text("x")));
        cases.push_back({"not ours, forwarding off", d, "ipv4.in_addr_errors"});
    }
    for (const auto& c : cases) {
        INFO(c.name);
        const auto before = t.a.counter(c.counter);
        const auto delivered = t.a.counter("ipv4.in_delivers");
        t.inject_ip(c.datagram);
        CHECK(t.a.counter(c.counter) == before + 1);
        CHECK(t.a.counter("ipv4.in_delivers") == delivered);
        CHECK(t.a.card.sent.empty());
    }
    CHECK(t.a.counter("ipv4.in_hdr_errors") == 4); // version, IHL, total length, checksum
    CHECK(t.a.counter("ipv4.in_receives") == cases.size());
    CHECK(t.a.counter("udp.in_datagrams") == 0);
    // The host goes on: a good datagram after them is delivered.
    t.inject_ip(valid_udp_to_a());
    CHECK(t.a.counter("udp.in_datagrams") == 1);
    CHECK(static_cast<udp::socket&>(*keep).queued_bytes() == 4);
}

TEST_CASE("ipv4: Ethernet padding after the total length is ignored", "[ipv4]") {
    lone_host t;
    ref<socket_object> keep = t.a.stack.socket(socket_type::datagram).value();
    REQUIRE(keep->bind({ipv4_any, 9}));
    auto d = valid_udp_to_a();
    d.resize(46, std::byte{0xee}); // a 60-byte minimum frame
    t.inject_ip(d);
    CHECK(t.a.counter("udp.in_datagrams") == 1);
    CHECK(static_cast<udp::socket&>(*keep).queued_bytes() == 4);
}

TEST_CASE("ipv4: an unknown protocol is counted and answered with protocol unreachable", "[ipv4]") {
    lone_host t;
    auto d = ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol{47}, 7), text("gre-ish!"));
    t.inject_ip(d);
    CHECK(t.a.counter("ipv4.in_unknown_protos") == 1);
    REQUIRE(t.a.card.sent.size() == 1);
    auto f = t.a.card.take_sent();
    bytes icmp_msg(icmp::header_length + 28);
    icmp::emit({icmp::message::destination_unreachable, icmp::unreachable::protocol, 0, 0, 0,
                std::span(d).first(28)},
               icmp_msg);
    CHECK(f == ethernet_frame(mac_a, mac_b, ethernet::ethertype::ipv4,
                              ip_datagram(ip_header(ip_a, ip_b, ipv4::protocol::icmp, ip_id_of(f)),
                                          icmp_msg)));
}

TEST_CASE("ipv4: the routing table picks the longest matching prefix", "[ipv4][route]") {
    ipv4::routing_table rt;
    rt.add({ipv4_prefix{}, ipv4_address{10, 0, 0, 254}, 0});
    rt.add({ipv4_prefix{{10, 1, 0, 0}, 16}, ipv4_address{10, 0, 1, 1}, 1});
    rt.add({ipv4_prefix{{10, 1, 2, 0}, 24}, ipv4_address{10, 0, 1, 2}, 1});
    rt.add({ipv4_prefix{{10, 0, 1, 0}, 24}, ipv4_any, 1});
    CHECK(rt.lookup({10, 1, 2, 3})->address == ipv4_address{10, 0, 1, 2});
    CHECK(rt.lookup({10, 1, 9, 9})->address == ipv4_address{10, 0, 1, 1});
    CHECK(rt.lookup({10, 0, 1, 7})->address == ipv4_address{10, 0, 1, 7}); // on link
    CHECK(rt.lookup({10, 0, 1, 7})->interface == 1);
    CHECK(rt.lookup({8, 8, 8, 8})->address == ipv4_address{10, 0, 0, 254});
    CHECK(rt.lookup({8, 8, 8, 8})->interface == 0);
    rt.add({ipv4_prefix{{10, 1, 2, 0}, 24}, ipv4_address{10, 0, 1, 3}, 1}); // replaces
    CHECK(rt.lookup({10, 1, 2, 3})->address == ipv4_address{10, 0, 1, 3});
    CHECK(rt.routes().size() == 4);
    CHECK(rt.remove(ipv4_prefix{}));
    CHECK_FALSE(rt.lookup({8, 8, 8, 8}));
}

namespace {

// A router between 10.0.0.0/24 (eth0, .254) and 10.0.1.0/24 (eth1, .254), its neighbours
// 10.0.0.1 (mac ..:01) and 10.0.1.2 (mac ..:12), 10.0.1.1 (mac ..:11) known.
struct router {
    world w;
    host r{w, "eth0", {0x02, 0, 0, 0, 0, 0xf0}, {{10, 0, 0, 254}, 24}};
    test_nic eth1_card{w.sched, r.registry,
                       nic_config{.name = "eth1", .mac = {0x02, 0, 0, 0, 1, 0xf0}, .mtu = 1500, .features = {}}};
    native::interface_id eth1 = r.stack.add_interface(eth1_card, {{10, 0, 1, 254}, 24});

    router() {
        learn(r.card, {0x02, 0, 0, 0, 0, 0x01}, {10, 0, 0, 1}, {10, 0, 0, 254});
        learn(eth1_card, {0x02, 0, 0, 0, 0, 0x12}, {10, 0, 1, 2}, {10, 0, 1, 254});
        learn(eth1_card, {0x02, 0, 0, 0, 0, 0x11}, {10, 0, 1, 1}, {10, 0, 1, 254});
        r.card.sent.clear();
        eth1_card.sent.clear();
    }
    ~router() { r.stack.set_trace({}); }
    void learn(test_nic& card, mac_address mac, ipv4_address ip, ipv4_address ours) {
        card.inject(ethernet_frame(mac, mac_broadcast, ethernet::ethertype::arp,
                                   arp_packet({arp::operation::request, mac, ip, {}, ours})),
                    w.pool);
        w.settle();
    }
    void from_eth0(const bytes& datagram) {
        r.card.inject(ethernet_frame({0x02, 0, 0, 0, 0, 0x01}, r.card.mac(), ethernet::ethertype::ipv4,
                                     datagram),
                      w.pool);
        w.settle();
    }
};

} // namespace

TEST_CASE("ipv4: with forwarding off a router drops datagrams for others", "[ipv4][forward]") {
    router t;
    t.from_eth0(ip_datagram(ip_header({10, 0, 0, 1}, {10, 0, 1, 2}, ipv4::protocol::udp, 1),
                            udp_datagram({10, 0, 0, 1}, {10, 0, 1, 2}, 1000, 2000, text("hi"))));
    CHECK(t.eth1_card.sent.empty());
    CHECK(t.r.card.sent.empty());
    CHECK(t.r.counter("ipv4.in_addr_errors") == 1);
    CHECK(t.r.counter("ipv4.forw_datagrams") == 0);
}

TEST_CASE("ipv4: forwarding decrements the TTL and updates the checksum incrementally",
          "[ipv4][forward]") {
    router t;
    t.r.stack.set_forwarding(true);
    std::vector<std::string> lines;
    t.r.stack.set_trace([&](std::string_view l) { lines.emplace_back(l); });
    const auto payload = udp_datagram({10, 0, 0, 1}, {10, 0, 1, 2}, 1000, 2000, text("hi"));
    t.from_eth0(ip_datagram(ip_header({10, 0, 0, 1}, {10, 0, 1, 2}, ipv4::protocol::udp, 0x4242, 64), payload));
    REQUIRE(t.eth1_card.sent.size() == 1);
    // The expected header is emitted whole (checksum computed from scratch) with TTL 63.
    CHECK(t.eth1_card.take_sent() ==
          ethernet_frame(t.eth1_card.mac(), {0x02, 0, 0, 0, 0, 0x12}, ethernet::ethertype::ipv4,
                         ip_datagram(ip_header({10, 0, 0, 1}, {10, 0, 1, 2}, ipv4::protocol::udp, 0x4242, 63),
                                     payload)));
    CHECK(t.r.counter("ipv4.forw_datagrams") == 1);
    CHECK(std::find(lines.begin(), lines.end(),
                    "ipv4 fwd 10.0.0.1 > 10.0.1.2 proto 17 len 30: via eth1 next hop 10.0.1.2") != lines.end());
}

TEST_CASE("ipv4: a datagram whose TTL runs out is answered with time exceeded", "[ipv4][forward]") {
    router t;
    t.r.stack.set_forwarding(true);
    const auto d = ip_datagram(ip_header({10, 0, 0, 1}, {10, 0, 1, 2}, ipv4::protocol::udp, 9, 1),
                               udp_datagram({10, 0, 0, 1}, {10, 0, 1, 2}, 1000, 2000, text("late")));
    t.from_eth0(d);
    CHECK(t.eth1_card.sent.empty());
    REQUIRE(t.r.card.sent.size() == 1);
    auto f = t.r.card.take_sent();
    bytes icmp_msg(icmp::header_length + 28);
    icmp::emit({icmp::message::time_exceeded, icmp::exceeded::ttl, 0, 0, 0, std::span(d).first(28)}, icmp_msg);
    CHECK(f == ethernet_frame(t.r.card.mac(), {0x02, 0, 0, 0, 0, 0x01}, ethernet::ethertype::ipv4,
                              ip_datagram(ip_header({10, 0, 0, 254}, {10, 0, 0, 1}, ipv4::protocol::icmp,
                                                    ip_id_of(f)),
                                          icmp_msg)));
    CHECK(t.r.counter("ipv4.in_hdr_errors") == 1);
    CHECK(t.r.counter("icmp.out_time_excds") == 1);
}

TEST_CASE("ipv4: forwarding follows the longest matching route", "[ipv4][forward]") {
    router t;
    t.r.stack.set_forwarding(true);
    t.r.stack.add_route({{10, 1, 0, 0}, 16}, {10, 0, 1, 1}, t.eth1);
    t.r.stack.add_route({{10, 1, 2, 0}, 24}, {10, 0, 1, 2}, t.eth1);
    t.from_eth0(ip_datagram(ip_header({10, 0, 0, 1}, {10, 1, 2, 3}, ipv4::protocol::udp, 1),
                            udp_datagram({10, 0, 0, 1}, {10, 1, 2, 3}, 1, 2, text("a"))));
    t.from_eth0(ip_datagram(ip_header({10, 0, 0, 1}, {10, 1, 9, 9}, ipv4::protocol::udp, 2),
                            udp_datagram({10, 0, 0, 1}, {10, 1, 9, 9}, 1, 2, text("b"))));
    REQUIRE(t.eth1_card.sent.size() == 2);
    CHECK(ethernet::view::unchecked(t.eth1_card.take_sent()).destination() == mac_address{0x02, 0, 0, 0, 0, 0x12});
    CHECK(ethernet::view::unchecked(t.eth1_card.take_sent()).destination() == mac_address{0x02, 0, 0, 0, 0, 0x11});
    // No route at all: net unreachable back to the source.
    t.from_eth0(ip_datagram(ip_header({10, 0, 0, 1}, {192, 168, 0, 1}, ipv4::protocol::udp, 3),
                            udp_datagram({10, 0, 0, 1}, {192, 168, 0, 1}, 1, 2, text("c"))));
    CHECK(t.r.counter("ipv4.out_no_routes") == 1);
    CHECK(t.r.counter("icmp.out_dest_unreachs") == 1);
}
