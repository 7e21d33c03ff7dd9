// Segmentation offload on the in-memory wire: a TSO frame (gso_tcpv4, partial checksum) is
// cut by the sending NIC into MTU-sized segments with fixed-up headers and filled checksums,
// or passed whole to receivers that take GSO frames (rx_gso) when no fault is set.
#include "drivers/wire/tcp_segmentation.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/coronet.hpp"
#include "framework/net/byte_order.hpp"
#include "protocols/checksum/checksum.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t eth = 14;
constexpr std::size_t ip_bytes = 20;
constexpr std::size_t tcp_bytes = 32; // with a 12-byte timestamp option
constexpr std::size_t headers = eth + ip_bytes + tcp_bytes;
constexpr std::uint16_t mss = 1448;
constexpr std::uint32_t first_seq = 0xfffff000; // the sequence numbers wrap inside the frame
constexpr std::uint16_t first_id = 0xfffe;      // and so do the IP identifications

nic_config card(const char* name, std::uint8_t id, nic_features f) {
    nic_config c;
    c.name = name;
    c.mac = mac_address{2, 0, 0, 0, 0, id};
    c.features = f;
    return c;
}

const nic_features sends_tso{.tx_checksum_offload = true, .tso = true};
const nic_features takes_gso{.tx_checksum_offload = true, .tso = true, .rx_gso = true};

std::byte payload_byte(std::size_t i) { return std::byte(static_cast<unsigned char>(i * 13 + 5)); }

// A TSO frame as TCP and the stack hand it to the NIC: headers, `payload` bytes, the TCP
// checksum field holding the pseudo-header sum, needs_csum and gso_tcpv4 set.
packet tso_frame(buffer_pool& pool, std::size_t payload, std::uint8_t flags) {
    std::vector<std::byte> f(headers + payload);
    for (std::size_t i = 0; i < 6; ++i) {
        f[i] = std::byte{2};
        f[6 + i] = std::byte{2};
    }
    store_be16(std::span(f).subspan(12), 0x0800);
    auto ip = std::span(f).subspan(eth, ip_bytes);
    ip[0] = std::byte{0x45};
    store_be16(ip.subspan(2), static_cast<std::uint16_t>(ip_bytes + tcp_bytes + payload));
    store_be16(ip.subspan(4), first_id);
    ip[6] = std::byte{0x40}; // DF
    ip[8] = std::byte{64};
    ip[9] = std::byte{6};
    const ipv4_address src{10, 0, 0, 1}, dst{10, 0, 0, 2};
    store_be32(ip.subspan(12), src.to_uint());
    store_be32(ip.subspan(16), dst.to_uint());
    store_be16(ip.subspan(10), checksum::finish(checksum::sum(ip)));
    auto tcp = std::span(f).subspan(eth + ip_bytes, tcp_bytes);
    store_be16(tcp.subspan(0), 40000);
    store_be16(tcp.subspan(2), 80);
    store_be32(tcp.subspan(4), first_seq);
    store_be32(tcp.subspan(8), 7);
    tcp[12] = std::byte{(tcp_bytes / 4) << 4};
    tcp[13] = std::byte{flags};
    store_be16(tcp.subspan(14), 512);
    tcp[20] = std::byte{1}; // NOP, NOP, timestamps
    tcp[21] = std::byte{1};
    tcp[22] = std::byte{8};
    tcp[23] = std::byte{10};
    store_be16(tcp.subspan(16), checksum::pseudo_header_sum(src, dst, 6, static_cast<std::uint16_t>(tcp_bytes + payload)));
    for (std::size_t i = 0; i < payload; ++i)
        f[headers + i] = payload_byte(i);

    counter copied;
    packet p = packet::allocate(pool).value();
    p.append(f, copied).value();
    auto& o = p.meta().offload;
    o.flags = packet_offload::needs_csum;
    o.csum_start = eth + ip_bytes;
    o.csum_offset = 16;
    o.gso_type = packet_offload::gso_tcpv4;
    o.gso_size = mss;
    o.hdr_len = headers;
    return p;
}

struct arrival {
    std::vector<std::byte> bytes;
    packet_offload offload;
    time_point at;
};

struct recorder final : frame_sink {
    explicit recorder(scheduler& s) : sched(s) {}
    scheduler& sched;
    std::vector<arrival> got;
    result<> push(packet&& frame) override {
        std::vector<std::byte> b(frame.length());
        frame.copy_out(0, b).value();
        got.push_back({std::move(b), frame.meta().offload, sched.now()});
        return {};
    }
};

struct tso_link {
    tso_link(wire_config c, nic_features fa, nic_features fb) : s({.time_source = &clk}), w(s, std::move(c)) {
        a = &w.attach(reg_a, card("a", 1, fa), pool_a);
        b = &w.attach(reg_b, card("b", 2, fb), pool_b);
        b->attach(&at_b);
    }
    virtual_clock clk;
    scheduler s;
    counter_registry reg_a, reg_b;
    buffer_pool pool_a{{.buffer_size = 2048, .buffer_count = 256}};
    buffer_pool pool_b{{.buffer_size = 2048, .buffer_count = 256}};
    wire w;
    wire_nic* a = nullptr;
    wire_nic* b = nullptr;
    recorder at_b{s};
};

bool tcp_checksum_ok(std::span<const std::byte> frame) {
    const auto ip = frame.subspan(eth, ip_bytes);
    const auto segment = frame.subspan(eth + ip_bytes);
    const ipv4_address src(load_be32(ip.subspan(12))), dst(load_be32(ip.subspan(16)));
    const auto sum = checksum::add(checksum::pseudo_header_sum(src, dst, 6, static_cast<std::uint16_t>(segment.size())),
                                   checksum::sum(segment));
    return sum == 0xffff;
}

} // namespace

TEST_CASE("a TSO frame is cut into MSS-sized segments with their headers fixed up",
          "[wire][tso]") {
    tso_link l({.mtu = 1500}, sends_tso, {});
    constexpr std::size_t payload = 3 * mss + 656;
    constexpr std::uint8_t flags = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
    REQUIRE(l.a->transmit(tso_frame(l.pool_a, payload, flags)));
    l.s.run_until_idle();

    REQUIRE(l.at_b.got.size() == 4);
    std::vector<std::byte> data;
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("segment " << i);
        const auto f = std::span<const std::byte>(l.at_b.got[i].bytes);
        const std::size_t len = i < 3 ? mss : 656;
        REQUIRE(f.size() == headers + len);
        const auto ip = f.subspan(eth, ip_bytes);
        const auto tcp = f.subspan(eth + ip_bytes, tcp_bytes);
        CHECK(load_be16(ip.subspan(2)) == ip_bytes + tcp_bytes + len);
        CHECK(load_be16(ip.subspan(4)) == static_cast<std::uint16_t>(first_id + i));
        CHECK(checksum::sum(ip) == 0xffff); // the header checksum is right
        CHECK(load_be32(tcp.subspan(4)) == static_cast<std::uint32_t>(first_seq + i * mss));
        const auto got_flags = std::to_integer<unsigned>(tcp[13]);
        CHECK(((got_flags & 0x80) != 0) == (i == 0)); // CWR on the first only
        CHECK(((got_flags & 0x09) != 0) == (i == 3)); // PSH and FIN on the last only
        CHECK((got_flags & 0x10) != 0);               // ACK on all
        CHECK(tcp[22] == std::byte{8});               // the options copied
        CHECK(tcp_checksum_ok(f));
        CHECK(l.at_b.got[i].offload.flags == 0); // the receiver sees plain frames
        data.insert(data.end(), f.begin() + headers, f.end());
    }
    for (std::size_t i = 0; i < payload; ++i)
        REQUIRE(data[i] == payload_byte(i));
    CHECK(l.w.stats().gso_segmented.value == 1);
    CHECK(l.w.stats().gso_segments.value == 4);
    CHECK(l.w.stats().gso_passed_whole.value == 0);
    CHECK(l.w.stats().checksums_filled.value == 4);
    CHECK(l.w.stats().frames_carried.value == 4);
    CHECK(l.pool_a.in_use() == 0); // headers and shared payload all went back
}

TEST_CASE("each cut segment is serialised on its own", "[wire][tso]") {
    tso_link l({.latency = 10us, .bandwidth_bps = 100'000'000, .mtu = 1500}, sends_tso, {});
    REQUIRE(l.a->transmit(tso_frame(l.pool_a, 2 * mss, 0x10)));
    CHECK(l.a->tx_queued() == 2);
    l.s.run_until_idle();
    REQUIRE(l.at_b.got.size() == 2);
    const duration one = l.w.serialisation(headers + mss);
    CHECK(l.at_b.got[0].at == time_point{} + one + 10us);
    CHECK(l.at_b.got[1].at == time_point{} + 2 * one + 10us);
}

TEST_CASE("a receiver that takes GSO frames gets the TSO frame whole, checksum left partial",
          "[wire][tso]") {
    tso_link l({.latency = 10us, .bandwidth_bps = 1'000'000'000, .mtu = 1500}, takes_gso, takes_gso);
    constexpr std::size_t payload = 40 * mss + 100;
    packet f = tso_frame(l.pool_a, payload, 0x18);
    std::vector<std::byte> sent(f.length());
    f.copy_out(0, sent).value();
    REQUIRE(l.a->transmit(std::move(f)));
    l.s.run_until_idle();

    REQUIRE(l.at_b.got.size() == 1);
    const auto& got = l.at_b.got[0];
    CHECK(got.bytes == sent); // not cut, not summed
    CHECK(got.offload.gso_type == packet_offload::gso_tcpv4);
    CHECK(got.offload.gso_size == mss);
    CHECK(got.offload.hdr_len == headers);
    CHECK((got.offload.flags & packet_offload::needs_csum) != 0);
    CHECK(got.offload.csum_start == eth + ip_bytes);
    // It took the wire as long as its 41 segments would have.
    CHECK(got.at == time_point{} + l.w.serialisation(payload + 41 * headers) + 10us);
    CHECK(l.w.stats().gso_passed_whole.value == 1);
    CHECK(l.w.stats().gso_segmented.value == 0);
    CHECK(l.w.stats().checksums_filled.value == 0);
    CHECK(l.w.stats().partial_checksums_passed.value == 1);
}

TEST_CASE("with any fault set the TSO frame is cut, even for GSO receivers, so faults strike "
          "single segments",
          "[wire][tso]") {
    tso_link l({.mtu = 1500, .faults = {.delay = 1ms}}, takes_gso, takes_gso);
    REQUIRE(l.a->transmit(tso_frame(l.pool_a, 3 * mss, 0x10)));
    l.s.run_until_idle();
    REQUIRE(l.at_b.got.size() == 3);
    CHECK(l.w.stats().gso_segments.value == 3);
    // Without corruption the GSO receiver still takes the partial checksum.
    CHECK((l.at_b.got[0].offload.flags & packet_offload::needs_csum) != 0);

    SECTION("a corrupted segment arrives with its checksum filled, so the receiver sees it") {
        l.w.faults().set_config({.corrupt = 1.0});
        l.at_b.got.clear();
        REQUIRE(l.a->transmit(tso_frame(l.pool_a, 2 * mss, 0x10)));
        l.s.run_until_idle();
        REQUIRE(l.at_b.got.size() == 2);
        for (const auto& g : l.at_b.got)
            CHECK(g.offload.flags == 0); // the receiver checks the sum
        CHECK(l.w.stats().faults.corrupted.value == 2);
        CHECK(l.w.stats().checksums_filled.value == 2);
    }
}

TEST_CASE("on a hub with one receiver that does not take GSO, the frame is cut for all",
          "[wire][tso][hub]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    buffer_pool pa, pb, pc;
    wire w(s, {.kind = wire::kind::hub, .mtu = 1500});
    auto& a = w.attach(reg, card("a", 1, takes_gso), pa);
    auto& b = w.attach(reg, card("b", 2, takes_gso), pb);
    auto& c = w.attach(reg, card("c", 3, {}), pc);
    recorder rb{s}, rc{s};
    b.attach(&rb);
    c.attach(&rc);
    REQUIRE(a.transmit(tso_frame(pa, 2 * mss + 1, 0x10)));
    s.run_until_idle();
    CHECK(rb.got.size() == 3);
    REQUIRE(rc.got.size() == 3);
    for (const auto& g : rc.got)
        CHECK(tcp_checksum_ok(g.bytes));
    CHECK(w.stats().gso_segmented.value == 1);
}

TEST_CASE("bad TSO frames are refused and counted; segments too big for the wire are dropped",
          "[wire][tso]") {
    tso_link l({.mtu = 1500}, sends_tso, {});
    SECTION("hdr_len that is not the headers' length: EINVAL, nothing sent") {
        packet f = tso_frame(l.pool_a, 2 * mss, 0x10);
        f.meta().offload.hdr_len = headers - 4;
        auto r = l.a->transmit(std::move(f));
        REQUIRE(!r);
        CHECK(r.error() == EINVAL);
        CHECK(l.w.stats().bad_offload.value == 1);
    }
    SECTION("no partial checksum: EINVAL") {
        packet f = tso_frame(l.pool_a, 2 * mss, 0x10);
        f.meta().offload.flags = 0;
        auto r = l.a->transmit(std::move(f));
        REQUIRE(!r);
        CHECK(r.error() == EINVAL);
    }
    SECTION("an IP total length that disagrees with the frame: EINVAL") {
        packet f = tso_frame(l.pool_a, 2 * mss, 0x10);
        f.trim(f.length() - 1);
        auto r = l.a->transmit(std::move(f));
        REQUIRE(!r);
        CHECK(r.error() == EINVAL);
    }
    SECTION("gso_size past the wire's MTU: dropped like a giant") {
        packet f = tso_frame(l.pool_a, 2 * mss, 0x10);
        f.meta().offload.gso_size = 1500;
        REQUIRE(l.a->transmit(std::move(f)));
        CHECK(l.w.stats().dropped_mtu.value == 1);
    }
    l.s.run_until_idle();
    CHECK(l.at_b.got.empty());
    CHECK(l.pool_a.in_use() == 0);
}

TEST_CASE("the sender's queue takes a cut burst whole, or refuses it with ENOBUFS",
          "[wire][tso][queue]") {
    tso_link l({.bandwidth_bps = 10'000'000, .mtu = 1500, .queue_limit = 3}, sends_tso, {});
    REQUIRE(l.a->transmit(tso_frame(l.pool_a, 5 * mss, 0x10))); // room: all 5 go
    CHECK(l.a->tx_queued() == 5);
    auto r = l.a->transmit(tso_frame(l.pool_a, 2 * mss, 0x10));
    REQUIRE(!r);
    CHECK(r.error() == ENOBUFS);
    CHECK(l.a->stats().tx_dropped_queue_full.value == 1);
    l.s.run_until_idle();
    CHECK(l.at_b.got.size() == 5);
    CHECK(l.a->tx_queued() == 0);
}

TEST_CASE("segment_tso on its own: layout and segment count", "[wire][tso]") {
    buffer_pool pool{{.buffer_size = 2048, .buffer_count = 8}};
    packet f = tso_frame(pool, 3 * mss, 0x10);
    auto layout = parse_tso(f);
    REQUIRE(layout);
    CHECK(layout->tcp_offset == eth + ip_bytes);
    CHECK(layout->header_bytes == headers);
    CHECK(layout->payload_bytes == 3 * mss);
    CHECK(layout->segments() == 3);
    CHECK(layout->wire_bytes() == 3 * (headers + mss));
    std::vector<std::size_t> lengths;
    auto n = segment_tso(std::move(f), [&](packet&& s) -> result<> {
        lengths.push_back(s.length());
        return {};
    });
    REQUIRE(n);
    CHECK(*n == 3);
    CHECK(lengths == std::vector<std::size_t>{headers + mss, headers + mss, headers + mss});
    CHECK(pool.in_use() == 0);
}

TEST_CASE("segment_tso: no buffer for a segment's headers is ENOBUFS, and nothing leaks",
          "[wire][tso]") {
    buffer_pool pool{{.buffer_size = 2048, .buffer_count = 3}};
    packet f = tso_frame(pool, 3 * mss, 0x10);
    REQUIRE(pool.in_use() == 3); // every buffer holds the frame
    std::size_t sent = 0;
    auto n = segment_tso(std::move(f), [&](packet&&) -> result<> {
        ++sent;
        return {};
    });
    REQUIRE(!n);
    CHECK(n.error() == ENOBUFS);
    CHECK(sent == 0);
    CHECK(pool.in_use() == 0);
}
