// ARP in the native stack, as packet traces: a host in a stated situation, one frame in,
// the exact frames out, the counters that moved.
#include "tests/protocols/stack_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;
using namespace std::chrono_literals;

namespace {

const mac_address mac_a{0x02, 0, 0, 0, 0, 0x01};
const mac_address mac_b{0x02, 0, 0, 0, 0, 0x02};
const ipv4_address ip_a{10, 0, 0, 1};
const ipv4_address ip_b{10, 0, 0, 2};

// Host A (10.0.0.1/24) alone on a wire the test plays, its announcement taken off.
struct lone_host {
    world w;
    host a;
    explicit lone_host(native::options o = {}) : a(w, "eth0", mac_a, {ip_a, 24}, o) {
        w.settle();
        a.card.sent.clear();
    }
    udp::socket& open(ref<socket_object>& keep) {
        keep = a.stack.socket(socket_type::datagram).value();
        return static_cast<udp::socket&>(*keep);
    }
    void inject_arp(const arp::repr& r, mac_address dst) {
        a.card.inject(ethernet_frame(r.sender_mac, dst, ethernet::ethertype::arp, arp_packet(r)), w.pool);
        w.settle();
    }
};

arp::repr reply_from(mac_address mac, ipv4_address ip) {
    return {arp::operation::reply, mac, ip, mac_a, ip_a};
}

} // namespace

TEST_CASE("arp: a new interface announces its address with a gratuitous request", "[arp]") {
    world w;
    host a(w, "eth0", mac_a, {ip_a, 24});
    w.settle();
    REQUIRE(a.card.sent.size() == 1);
    CHECK(a.card.take_sent() == hex("ffffffffffff 020000000001 0806"
                                    "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000001"));
    CHECK(a.counter("arp.out_requests") == 1);
}

TEST_CASE("arp: a request for our address is answered with our MAC", "[arp]") {
    lone_host t;
    t.a.card.inject(hex("ffffffffffff 020000000002 0806"
                        "0001 0800 06 04 0001 020000000002 0a000002 000000000000 0a000001"),
                    t.w.pool);
    t.w.settle();
    REQUIRE(t.a.card.sent.size() == 1);
    CHECK(t.a.card.take_sent() == hex("020000000002 020000000001 0806"
                                      "0001 0800 06 04 0002 020000000001 0a000001 020000000002 0a000002"));
    CHECK(t.a.counter("arp.in_requests") == 1);
    CHECK(t.a.counter("arp.out_replies") == 1);
    // RFC 826: the requester is added, since we are about to talk to it.
    auto e = t.a.stack.at(t.a.eth0).arp().find(ip_b);
    REQUIRE(e);
    CHECK(e->st == arp::cache::state::reachable);
    CHECK(e->mac == mac_b);
}

TEST_CASE("arp: a request for another address is not answered and adds nothing", "[arp]") {
    lone_host t;
    t.inject_arp({arp::operation::request, mac_b, ip_b, {}, ipv4_address{10, 0, 0, 9}}, mac_broadcast);
    CHECK(t.a.card.sent.empty());
    CHECK(t.a.stack.at(t.a.eth0).arp().size() == 0);
    CHECK(t.a.counter("arp.in_ignored") == 1);
}

TEST_CASE("arp: malformed packets are dropped and counted", "[arp]") {
    lone_host t;
    // Hardware type 6 (IEEE 802), then a packet cut short.
    t.a.card.inject(hex("ffffffffffff 020000000002 0806 0006 0800 06 04 0001 020000000002 0a000002 "
                        "000000000000 0a000001"),
                    t.w.pool);
    t.a.card.inject(hex("ffffffffffff 020000000002 0806 0001 0800 06 04 0001 0200"), t.w.pool);
    t.w.settle();
    CHECK(t.a.card.sent.empty());
    CHECK(t.a.counter("arp.in_errors") == 2);
}

TEST_CASE("arp: each field that is not Ethernet/IPv4 and each sender that names no one host is "
          "dropped, counted, answered by nothing; a good request after them is answered",
          "[arp][adversarial]") {
    lone_host t;
    // Requests for our address from B, damaged one field at a time: hardware type, protocol
    // type (IPv6's), hardware length, protocol length.
    for (const char* fields :
         {"0006 0800 06 04", "0001 86dd 06 04", "0001 0800 08 04", "0001 0800 06 10"})
        t.a.card.inject(hex(std::string("ffffffffffff 020000000002 0806 ") + fields +
                            " 0001 020000000002 0a000002 000000000000 0a000001"),
                        t.w.pool);
    t.w.settle();
    CHECK(t.a.counter("arp.in_errors") == 4);
    // Senders to learn nothing from: a zero, broadcast or multicast MAC; a zero, broadcast or
    // multicast IP.
    const mac_address multicast_mac{0x01, 0x00, 0x5e, 0, 0, 1};
    const std::pair<mac_address, ipv4_address> senders[] = {
        {mac_address{}, ip_b},   {mac_broadcast, ip_b},   {multicast_mac, ip_b},
        {mac_b, ipv4_address{}}, {mac_b, ipv4_broadcast}, {mac_b, ipv4_address{224, 0, 0, 1}}};
    for (auto [mac, ip] : senders)
        t.inject_arp({arp::operation::request, mac, ip, {}, ip_a}, mac_broadcast);
    CHECK(t.a.counter("arp.in_bad_sender") == 6);
    CHECK(t.a.card.sent.empty());
    CHECK(t.a.stack.at(t.a.eth0).arp().size() == 0);
    // The host goes on: B's good request is answered and B learnt.
    t.inject_arp({arp::operation::request, mac_b, ip_b, {}, ip_a}, mac_broadcast);
    CHECK(t.a.card.take_sent() ==
          hex("020000000002 020000000001 0806"
              "0001 0800 06 04 0002 020000000001 0a000001 020000000002 0a000002"));
    CHECK(t.a.stack.at(t.a.eth0).arp().find(ip_b));
}

TEST_CASE("arp: a gratuitous ARP moves an entry we have (RFC 826's merge), plants none we do "
          "not have, and never takes our address",
          "[arp][adversarial]") {
    lone_host t;
    const mac_address mac_c{0x02, 0, 0, 0, 0, 0x03};
    t.inject_arp({arp::operation::request, mac_b, ip_b, {}, ip_a}, mac_broadcast); // B is known
    t.a.card.sent.clear();
    auto& cache = t.a.stack.at(t.a.eth0).arp();
    // C announces B's address: the entry follows (what RFC 826 and Linux do).
    t.inject_arp({arp::operation::request, mac_c, ip_b, {}, ip_b}, mac_broadcast);
    REQUIRE(cache.find(ip_b));
    CHECK(cache.find(ip_b)->mac == mac_c);
    // C announces an address we never talked to: nothing is planted.
    t.inject_arp(
        {arp::operation::request, mac_c, ipv4_address{10, 0, 0, 9}, {}, ipv4_address{10, 0, 0, 9}},
        mac_broadcast);
    CHECK_FALSE(cache.find(ipv4_address{10, 0, 0, 9}));
    // C announces ours: counted, not believed, not answered.
    t.inject_arp({arp::operation::request, mac_c, ip_a, {}, ip_a}, mac_broadcast);
    CHECK(t.a.counter("arp.address_conflicts") == 1);
    CHECK_FALSE(cache.find(ip_a));
    CHECK(t.a.card.sent.empty());
    CHECK(cache.size() == 1);
}

TEST_CASE("arp: packets wait for resolution and leave in order once the reply comes", "[arp]") {
    lone_host t;
    ref<socket_object> keep;
    auto& s = t.open(keep);
    REQUIRE(s.bind({ip_a, 5000}));
    for (auto word : {"one", "two", "three"})
        REQUIRE(s.send(text(word), {ip_b, 7}));
    t.w.settle();
    REQUIRE(t.a.card.sent.size() == 1); // one request, however many packets wait
    CHECK(t.a.card.take_sent() == hex("ffffffffffff 020000000001 0806"
                                      "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002"));
    CHECK(t.a.stack.at(t.a.eth0).arp().find(ip_b)->queued == 3);

    t.inject_arp(reply_from(mac_b, ip_b), mac_a);
    REQUIRE(t.a.card.sent.size() == 3);
    for (auto word : {"one", "two", "three"}) {
        auto f = t.a.card.take_sent();
        auto ip = ip_header(ip_a, ip_b, ipv4::protocol::udp, ip_id_of(f));
        CHECK(f == ethernet_frame(mac_a, mac_b, ethernet::ethertype::ipv4,
                                  ip_datagram(ip, udp_datagram(ip_a, ip_b, 5000, 7, text(word)))));
    }
    // Resolved: the next datagram goes straight out.
    REQUIRE(s.send(text("four"), {ip_b, 7}));
    CHECK(t.a.card.sent.size() == 1);
}

TEST_CASE("arp: three requests one second apart, then EHOSTUNREACH to the sender", "[arp]") {
    lone_host t;
    ref<socket_object> keep;
    auto& s = t.open(keep);
    REQUIRE(s.bind({ip_a, 5000}));
    REQUIRE(s.send(text("hello"), {ip_b, 7}));
    t.w.settle();
    CHECK(t.a.card.sent.size() == 1);
    t.w.advance(999ms);
    CHECK(t.a.card.sent.size() == 1);
    t.w.advance(1ms); // t = 1 s
    CHECK(t.a.card.sent.size() == 2);
    t.w.advance(1s); // t = 2 s
    CHECK(t.a.card.sent.size() == 3);
    CHECK(t.a.counter("arp.resolution_failures") == 0);
    t.w.advance(1s); // t = 3 s: no answer to the third
    CHECK(t.a.card.sent.size() == 3);
    CHECK(t.a.counter("arp.out_requests") == 1 + 3); // the announcement, then three asks
    CHECK(t.a.counter("arp.resolution_failures") == 1);
    CHECK(t.a.counter("arp.unres_discards") == 1);
    CHECK(t.a.stack.at(t.a.eth0).arp().size() == 0);
    // The sender hears of it on its next call, once.
    CHECK(s.send(text("again"), {ip_b, 7}).error() == EHOSTUNREACH);
    CHECK(s.send(text("again"), {ip_b, 7}));
}

TEST_CASE("arp: a reachable entry ages out after reachable_time", "[arp]") {
    native::options o;
    o.arp.reachable_time = 60s;
    lone_host t(o);
    ref<socket_object> keep;
    auto& s = t.open(keep);
    REQUIRE(s.send(text("x"), {ip_b, 7}));
    t.w.settle();
    t.inject_arp(reply_from(mac_b, ip_b), mac_a);
    REQUIRE(t.a.stack.at(t.a.eth0).arp().lookup(ip_b));
    t.w.advance(59s);
    CHECK(t.a.stack.at(t.a.eth0).arp().lookup(ip_b));
    t.w.advance(1s);
    CHECK_FALSE(t.a.stack.at(t.a.eth0).arp().lookup(ip_b));
    CHECK(t.a.counter("arp.entries_aged") == 1);
}

TEST_CASE("arp: an unsolicited reply creates no entry; a solicited one updates it", "[arp]") {
    lone_host t;
    t.inject_arp(reply_from(mac_b, ip_b), mac_a);
    CHECK(t.a.stack.at(t.a.eth0).arp().size() == 0);
    CHECK(t.a.counter("arp.in_ignored") == 1);
    // A gratuitous announcement from a stranger: ignored too.
    t.inject_arp({arp::operation::request, mac_b, ip_b, {}, ip_b}, mac_broadcast);
    CHECK(t.a.stack.at(t.a.eth0).arp().size() == 0);
    // Someone claiming our address is counted, not believed.
    t.inject_arp({arp::operation::reply, mac_b, ip_a, mac_a, ip_a}, mac_a);
    CHECK(t.a.counter("arp.address_conflicts") == 1);
}

TEST_CASE("arp: a flood stays within the cache and queue bounds", "[arp]") {
    native::options o;
    o.arp.max_entries = 4;
    o.arp.max_queued = 3;
    lone_host t(o);
    auto& cache = t.a.stack.at(t.a.eth0).arp();
    // 100 requests for us from 100 senders: each is answered, the cache keeps 4.
    for (std::uint8_t i = 0; i < 100; ++i)
        t.inject_arp({arp::operation::request, mac_address{0x02, 0, 0, 1, 0, i},
                      ipv4_address{10, 0, 1, i}, {}, ip_a},
                     mac_broadcast);
    CHECK(cache.size() == 4);
    CHECK(t.a.counter("arp.entries_evicted") == 96);
    CHECK(t.a.counter("arp.out_replies") == 100);
    // 100 replies and requests between strangers: nothing added.
    for (std::uint8_t i = 0; i < 100; ++i) {
        t.inject_arp({arp::operation::reply, mac_address{0x02, 0, 0, 2, 0, i},
                      ipv4_address{10, 0, 2, i}, mac_a, ip_a},
                     mac_a);
        t.inject_arp({arp::operation::request, mac_address{0x02, 0, 0, 3, 0, i},
                      ipv4_address{10, 0, 3, i}, {}, ipv4_address{10, 0, 3, 1}},
                     mac_broadcast);
    }
    CHECK(cache.size() == 4);
    // Five packets for one unresolved neighbour: three wait, the two oldest are dropped.
    ref<socket_object> keep;
    auto& s = t.open(keep);
    REQUIRE(s.bind({ip_a, 5000}));
    t.a.card.sent.clear();
    for (char c = '1'; c <= '5'; ++c)
        REQUIRE(s.send(text(std::string(1, c)), {ip_b, 7}));
    t.w.settle();
    CHECK(cache.find(ip_b)->queued == 3);
    CHECK(t.a.counter("arp.unres_discards") == 2);
    t.a.card.sent.clear();
    t.inject_arp(reply_from(mac_b, ip_b), mac_a);
    REQUIRE(t.a.card.sent.size() == 3);
    for (char c = '3'; c <= '5'; ++c) {
        auto f = t.a.card.take_sent();
        CHECK(std::to_integer<char>(f.back()) == c);
    }
}

TEST_CASE("arp: packets waiting across all unresolved addresses stay within the total bound",
          "[arp]") {
    native::options o;
    o.arp.max_queued_total = 10;
    lone_host t(o);
    auto& cache = t.a.stack.at(t.a.eth0).arp();
    ref<socket_object> keep;
    auto& s = t.open(keep);
    REQUIRE(s.bind({ip_a, 5000}));
    // One datagram to each of 30 silent addresses: the first 10 wait, the rest are dropped
    // (an address with a packet of its own waiting would drop its oldest instead).
    for (std::uint8_t i = 0; i < 30; ++i)
        REQUIRE(s.send(text("x"), {ipv4_address{10, 0, 0, static_cast<std::uint8_t>(100 + i)}, 7}));
    t.w.settle();
    std::size_t waiting = 0;
    for (std::uint8_t i = 0; i < 30; ++i)
        if (auto e = cache.find(ipv4_address{10, 0, 0, static_cast<std::uint8_t>(100 + i)})) waiting += e->queued;
    CHECK(waiting == 10);
    CHECK(t.a.counter("arp.unres_discards") == 20);
    // A second datagram to a waiting address replaces its own oldest: still 10.
    REQUIRE(s.send(text("y"), {ipv4_address{10, 0, 0, 100}, 7}));
    t.w.settle();
    CHECK(cache.find(ipv4_address{10, 0, 0, 100})->queued == 1);
    CHECK(t.a.counter("arp.unres_discards") == 21);
    // When resolution fails the waiting packets go, and the room comes back.
    t.w.advance(5s);
    CHECK(s.send(text("z"), {ipv4_address{10, 0, 0, 200}, 7}).error() == EHOSTUNREACH); // reported once
    REQUIRE(s.send(text("z"), {ipv4_address{10, 0, 0, 200}, 7}));
    t.w.settle();
    CHECK(cache.find(ipv4_address{10, 0, 0, 200})->queued == 1);
}

TEST_CASE("arp: requests from senders chosen to share one bucket of std::hash spread over the "
          "cache's keyed hash", "[arp][adversarial]") {
    lone_host t;
    // The bucket count an unordered_map keyed by std::hash<ipv4_address> reaches with
    // max_entries entries, and senders whose std::hash falls in its bucket 0: what an
    // attacker who knows the library computes offline (the hash is an unkeyed mix).
    const std::size_t n = t.a.stack.opts().arp.max_entries;
    std::unordered_map<ipv4_address, int> model;
    for (std::uint32_t i = 0; i < n; ++i) model.emplace(ipv4_address(0x0b000000 + i), 0);
    const std::size_t buckets = model.bucket_count();
    std::uint32_t sent = 0;
    for (std::uint32_t x = 0xac100001; sent < n; ++x) { // 172.16.0.1 on
        const ipv4_address sender(x);
        if (std::hash<ipv4_address>{}(sender) % buckets != 0) continue;
        const mac_address mac{0x02, 0x10, 0, static_cast<std::uint8_t>(sent >> 8),
                              static_cast<std::uint8_t>(sent), 0x01};
        t.inject_arp({arp::operation::request, mac, sender, {}, ip_a}, mac_broadcast);
        t.a.card.sent.clear(); // our replies
        ++sent;
    }
    const auto& cache = t.a.stack.at(t.a.eth0).arp();
    CHECK(cache.size() == n);
    INFO("longest chain " << cache.longest_chain() << " of " << cache.size());
    CHECK(cache.longest_chain() <= 8);
    CHECK(t.a.counter("arp.out_replies") == n);
}
