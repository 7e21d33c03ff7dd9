// Fragmentation and reassembly in the native stack: the exact fragments of a 4000-byte UDP
// datagram at MTU 1500; reassembly in every order, with duplicates and overlaps, its timeout
// at an exact virtual time and its memory cap.
#include "tests/protocols/ipv4/fragment_fixture.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace coronet;
using namespace coronet::testing;
using namespace coronet::fragment_test;
using namespace std::chrono_literals;

TEST_CASE("ipv4: a 4000-byte UDP datagram leaves as three exact fragments at MTU 1500",
          "[ipv4][fragment]") {
    fixture t;
    ref<socket_object> keep = t.a.stack.socket(socket_type::datagram).value();
    auto& s = static_cast<udp::socket&>(*keep);
    REQUIRE(s.bind({ip_a, 5000}));
    const auto data = pattern(4000);
    REQUIRE(s.send(data, {ip_b, 9}).value() == 4000);
    t.w.settle();
    REQUIRE(t.a.card.sent.size() == 3);
    const auto whole = udp_datagram(ip_a, ip_b, 5000, 9, data); // 4008 bytes
    // (1500 - 20) / 8 = 185 blocks: 1480 data bytes per fragment, offsets 0, 185, 370.
    const std::size_t sizes[] = {1480, 1480, 1048};
    std::size_t at = 0;
    std::uint16_t id = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        auto f = t.a.card.take_sent();
        if (i == 0) id = ip_id_of(f);
        auto h = ip_header(ip_a, ip_b, ipv4::protocol::udp, id);
        h.fragment_offset = static_cast<std::uint16_t>(at / 8);
        h.more_fragments = i < 2;
        INFO("fragment " << i);
        CHECK(f.size() == 14 + 20 + sizes[i]);
        CHECK(f == ethernet_frame(mac_a, mac_b, ethernet::ethertype::ipv4,
                                  ip_datagram(h, bytes(whole.begin() + at, whole.begin() + at + sizes[i]))));
        at += sizes[i];
    }
    CHECK(t.a.counter("ipv4.frag_creates") == 3);
    CHECK(t.a.counter("ipv4.frag_oks") == 1);
    // The next datagram to B carries another identification (RFC 6864).
    REQUIRE(s.send(text("small"), {ip_b, 9}));
    t.w.settle();
    CHECK(ip_id_of(t.a.card.take_sent()) != id);
}

TEST_CASE("ipv4: DF on a datagram above the MTU gives EMSGSIZE", "[ipv4][fragment]") {
    fixture t;
    auto p = packet::allocate(t.w.pool).value();
    counter copied;
    p.append(pattern(2000), copied).value();
    auto r = t.a.stack.output(std::move(p), {ip_a, ip_b, ipv4::protocol::udp, 0, true});
    CHECK(r.error() == EMSGSIZE);
    CHECK(t.a.counter("ipv4.frag_fails") == 1);
    CHECK(t.a.card.sent.empty());
}

TEST_CASE("ipv4: fragments are reassembled in any order", "[ipv4][reassembly]") {
    const auto data = pattern(4000);
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, data);
    auto frames = fragments_from_b(whole, 1480, 0x77);
    REQUIRE(frames.size() == 3);
    std::vector<std::vector<bytes>> orders;
    orders.push_back(frames);                                    // in order
    orders.push_back({frames.rbegin(), frames.rend()});          // reverse
    orders.push_back({frames[1], frames[0], frames[1], frames[0], frames[2]}); // duplicates
    auto small = fragments_from_b(whole, 96, 0x78);
    std::shuffle(small.begin(), small.end(), std::mt19937(42));
    orders.push_back(small); // 42 fragments, shuffled
    for (std::size_t i = 0; i < orders.size(); ++i) {
        INFO("order " << i);
        fixture t;
        receiver r(t.a);
        for (const auto& f : orders[i])
            t.inject(f);
        t.w.settle();
        CHECK(r.take() == data);
        CHECK(t.a.counter("ipv4.reasm_oks") == 1);
        CHECK(t.a.counter("ipv4.reasm_reqds") == orders[i].size());
        CHECK(t.a.counter("ipv4.reasm_fails") == 0);
        CHECK(t.a.stack.reassembly().datagrams() == 0);
        CHECK(t.a.stack.reassembly().memory() == 0);
        if (i == 2) CHECK(t.a.counter("ipv4.reasm_duplicates") == 2);
    }
}

TEST_CASE("ipv4: an overlapping fragment discards the whole datagram", "[ipv4][reassembly]") {
    fixture t;
    receiver r(t.a);
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, pattern(3000));
    auto frames = fragments_from_b(whole, 1480, 0x99); // [0,1480) [1480,2960) [2960,3008)
    auto shifted = fragments_from_b(bytes(whole.begin() + 1000, whole.end()), 1480, 0x99);
    // The same bytes again, but starting at 1000: overlaps fragment 0 without matching it.
    auto h = ip_header(ip_b, ip_a, ipv4::protocol::udp, 0x99);
    h.fragment_offset = 1000 / 8;
    h.more_fragments = true;
    t.inject(frames[0]);
    t.inject(ethernet_frame(mac_b, mac_a, ethernet::ethertype::ipv4,
                            ip_datagram(h, bytes(whole.begin() + 1000, whole.begin() + 2000))));
    t.w.settle();
    CHECK(t.a.counter("ipv4.reasm_overlaps") == 1);
    CHECK(t.a.counter("ipv4.reasm_fails") == 1);
    CHECK(t.a.stack.reassembly().datagrams() == 0);
    // The rest arrives: without fragment 0 nothing completes, nothing is delivered.
    t.inject(frames[1]);
    t.inject(frames[2]);
    t.w.settle();
    CHECK(r.take().empty());
    CHECK(t.a.counter("ipv4.reasm_oks") == 0);
}

TEST_CASE("ipv4: an incomplete datagram times out after exactly 30 s", "[ipv4][reassembly]") {
    fixture t;
    receiver r(t.a);
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, pattern(3000));
    auto frames = fragments_from_b(whole, 1480, 0x55);
    t.inject(frames[0]);
    t.inject(frames[2]);
    t.w.settle();
    CHECK(t.a.stack.reassembly().datagrams() == 1);
    t.w.advance(30s - 1ns);
    CHECK(t.a.stack.reassembly().datagrams() == 1);
    CHECK(t.a.card.sent.empty());
    t.w.advance(1ns);
    CHECK(t.a.stack.reassembly().datagrams() == 0);
    CHECK(t.a.stack.reassembly().memory() == 0);
    CHECK(t.a.counter("ipv4.reasm_timeout") == 1);
    CHECK(t.a.counter("ipv4.reasm_fails") == 1);
    // Fragment zero came, so B hears "fragment reassembly time exceeded" (RFC 792 code 1)
    // quoting its header and first 8 bytes.
    REQUIRE(t.a.card.sent.size() == 1);
    auto f = t.a.card.take_sent();
    const auto quote = std::span(frames[0]).subspan(14, 28);
    bytes msg(icmp::header_length + 28);
    icmp::emit({icmp::message::time_exceeded, icmp::exceeded::reassembly, 0, 0, 0, quote}, msg);
    CHECK(f == ethernet_frame(mac_a, mac_b, ethernet::ethertype::ipv4,
                              ip_datagram(ip_header(ip_a, ip_b, ipv4::protocol::icmp, ip_id_of(f)), msg)));
    // The missing fragment, late: held alone, it completes nothing.
    t.inject(frames[1]);
    t.w.settle();
    CHECK(r.take().empty());
}

TEST_CASE("ipv4: a fragment flood stays under the reassembly memory cap", "[ipv4][reassembly]") {
    native::options o;
    o.reassembly.memory_limit = 7000; // three buffers' worth of fragments
    fixture t(o);
    receiver r(t.a);
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, pattern(3000));
    for (std::uint16_t id = 1; id <= 50; ++id) {
        t.inject(fragments_from_b(whole, 1480, id)[0]);
        t.w.settle();
        CHECK(t.a.stack.reassembly().memory() <= 7000);
    }
    CHECK(t.a.stack.reassembly().datagrams() <= 3);
    CHECK(t.a.counter("ipv4.reasm_memory_evictions") >= 47);
    // The newest datagram still completes (the others make room for it).
    auto frames = fragments_from_b(whole, 1480, 50);
    t.inject(frames[1]);
    t.inject(frames[2]);
    t.w.settle();
    CHECK(r.take() == pattern(3000));
}

TEST_CASE("ipv4: datagrams whose keys cancel out in an unkeyed hash do not share a chain",
          "[ipv4][reassembly][adversarial]") {
    // Source 10.0.0.2 ^ (d << 16) with identification d: in the unkeyed mix of
    // (source << 32 | destination) ^ (identification << 48 | protocol << 40) every one of them
    // gave the same hash, so 1,000 of them made one chain of 1,000 that each fragment walked.
    fixture t;
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, pattern(3000));
    for (std::uint32_t d = 1; d <= 1000; ++d) {
        const ipv4_address source(ip_b.to_uint() ^ (d << 16));
        auto h = ip_header(source, ip_a, ipv4::protocol::udp, static_cast<std::uint16_t>(d));
        h.more_fragments = true;
        t.inject(ethernet_frame(mac_b, mac_a, ethernet::ethertype::ipv4,
                                ip_datagram(h, bytes(whole.begin(), whole.begin() + 1480))));
    }
    t.w.settle();
    REQUIRE(t.a.stack.reassembly().datagrams() == 1000);
    INFO("longest chain " << t.a.stack.reassembly().longest_chain());
    CHECK(t.a.stack.reassembly().longest_chain() <= 8);
}

TEST_CASE("ipv4: a datagram in more than max_fragments fragments is discarded; placing one "
          "moves at most that many", "[ipv4][reassembly][adversarial]") {
    fixture t;
    receiver r(t.a);
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, pattern(1600 - 8));
    // 200 fragments of 8 bytes, last first: each one lands in front of all the others.
    auto frames = fragments_from_b(whole, 8, 77);
    REQUIRE(frames.size() == 200);
    for (auto f = frames.rbegin(); f != frames.rend(); ++f) t.inject(*f);
    t.w.settle();
    CHECK(t.a.counter("ipv4.reasm_fragments_exceeded") == 1);
    CHECK(t.a.stack.reassembly().max_input_steps() <= 128);
    CHECK(r.take().empty());
    // 128 fragments of 8 bytes, in the same order, still make a datagram.
    const auto small = udp_datagram(ip_b, ip_a, 4000, 9, pattern(1024 - 8));
    frames = fragments_from_b(small, 8, 78);
    REQUIRE(frames.size() == 128);
    for (auto f = frames.rbegin(); f != frames.rend(); ++f) t.inject(*f);
    t.w.settle();
    CHECK(r.take() == pattern(1024 - 8));
}

TEST_CASE("ipv4: a fragment that would end beyond 65,535 bytes is dropped and counted; the next "
          "datagram is reassembled",
          "[ipv4][reassembly][adversarial]") {
    fixture t;
    receiver r(t.a);
    // The highest offset (8191 * 8 = 65,528) with 16 bytes: 20 + 65,544 bytes, more than
    // the total length field can say (RFC 791 §3.1; the "ping of death" of 1996). Once as
    // the last fragment alone, once beside a first fragment of the same datagram.
    auto first =
        fragments_from_b(udp_datagram(ip_b, ip_a, 4000, 9, pattern(64 - 8)), 32, 90).front();
    t.inject(first);
    for (std::uint16_t id : {std::uint16_t{90}, std::uint16_t{91}}) {
        auto h = ip_header(ip_b, ip_a, ipv4::protocol::udp, id);
        h.fragment_offset = 8191;
        h.more_fragments = false;
        t.inject(
            ethernet_frame(mac_b, mac_a, ethernet::ethertype::ipv4, ip_datagram(h, pattern(16))));
    }
    t.w.settle();
    CHECK(t.a.counter("ipv4.reasm_fails") == 2);
    CHECK(t.a.counter("ipv4.reasm_oks") == 0);
    CHECK(r.take().empty());
    CHECK(t.a.card.sent.empty());
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, pattern(3000 - 8));
    for (const auto& f : fragments_from_b(whole, 1480, 92))
        t.inject(f);
    t.w.settle();
    CHECK(r.take() == pattern(3000 - 8));
}
