// The in-memory wire: timing on the virtual clock, hub and point-to-point delivery, the
// sender's queue, the MTU, the receiver's buffers and ring, the DPC budget, checksum offload.
#include "drivers/wire/wire.hpp"
#include "framework/coronet.hpp"
#include "tests/drivers/frame_bytes.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace coronet;
using coronet::testing::bytes_of;
using coronet::testing::packet_from;
using namespace std::chrono_literals;

namespace {

// A NIC's configuration (nic_config::features has no default initializer, so a designated
// initializer would have to name it).
nic_config named(const char* name, std::uint8_t id = 1) {
    nic_config c;
    c.name = name;
    c.mac = mac_address{2, 0, 0, 0, 0, id};
    return c;
}

// Frames that look like Ethernet: broadcast, a local-experimental ethertype, a sequence
// number and a byte pattern.
packet make_frame(buffer_pool& pool, std::size_t length, std::uint32_t seq = 0) {
    std::vector<std::byte> bytes(length);
    for (std::size_t i = 0; i < length; ++i)
        bytes[i] = std::byte(static_cast<unsigned char>(i * 7 + seq));
    for (std::size_t i = 0; i < 6 && i < length; ++i)
        bytes[i] = std::byte{0xff};
    if (length >= 18) {
        bytes[12] = std::byte{0x88};
        bytes[13] = std::byte{0xb5};
        for (int k = 0; k < 4; ++k)
            bytes[14 + k] = std::byte(static_cast<unsigned char>(seq >> (24 - 8 * k)));
    }
    return packet_from(pool, bytes);
}

// The stack's receive input, as a test sees it: what arrived, when, in which DPC run.
struct recorder final : frame_sink {
    explicit recorder(scheduler& s) : sched(s) {}
    struct arrival {
        time_point at;
        std::vector<std::byte> bytes;
        std::uint64_t dpc_run;
    };
    scheduler& sched;
    std::vector<arrival> got;
    result<> push(packet&& frame) override {
        got.push_back({sched.now(), bytes_of(frame), sched.stats().dpcs_run});
        return {};
    }
};

// A receiver that keeps the frames (and so their buffers) until told to let go.
struct holder final : frame_sink {
    std::vector<packet> kept;
    result<> push(packet&& frame) override {
        kept.push_back(std::move(frame));
        return {};
    }
};

time_point at(duration d) { return time_point{} + d; }

struct two_hosts {
    explicit two_hosts(wire_config c, scheduler::options o = {})
        : s(with_clock(o)), w(s, std::move(c)) {}
    scheduler::options with_clock(scheduler::options o) {
        o.time_source = &clk;
        return o;
    }
    virtual_clock clk;
    scheduler s;
    counter_registry reg_a, reg_b;
    buffer_pool pool_a{{.buffer_size = 2048, .buffer_count = 64}};
    buffer_pool pool_b{{.buffer_size = 2048, .buffer_count = 64}};
    wire w;
    wire_nic& a = w.attach(reg_a, named("eth0", 1), pool_a);
    wire_nic& b = w.attach(reg_b, named("eth0", 2), pool_b);
    recorder at_a{s}, at_b{s};
    void connect() {
        a.attach(&at_a);
        b.attach(&at_b);
    }
};

} // namespace

TEST_CASE("a frame arrives after exactly latency + serialisation, byte for byte", "[wire]") {
    two_hosts h({.latency = 100us, .bandwidth_bps = 100'000'000});
    h.connect();
    packet f = make_frame(h.pool_a, 100, 1);
    const auto sent = bytes_of(f);
    REQUIRE(h.a.transmit(std::move(f)));
    h.s.run_until_idle();

    REQUIRE(h.at_b.got.size() == 1);
    CHECK(h.at_b.got[0].at == at(108us)); // 100 bytes at 100 Mbit/s: 8 us
    CHECK(h.at_b.got[0].bytes == sent);
    CHECK(h.at_a.got.empty());
    CHECK(h.w.stats().frames_carried.value == 1);
    CHECK(h.w.stats().deliveries.value == 1);
    CHECK(h.w.stats().bytes_copied.value == 100);
    CHECK(h.b.stats().rx_frames.value == 1);
    CHECK(h.a.stats().tx_frames.value == 1);
}

TEST_CASE("the sender's buffers go back at the arrival time, the receiver's when it is done",
          "[wire]") {
    two_hosts h({.latency = 1ms});
    holder keep;
    h.b.attach(&keep);
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 60)));
    CHECK(h.pool_a.in_use() == 1); // on the wire
    CHECK(h.w.in_flight() == 1);
    h.s.run_until_idle();
    CHECK(h.pool_a.in_use() == 0);
    CHECK(h.w.in_flight() == 0);
    REQUIRE(keep.kept.size() == 1);
    CHECK(keep.kept[0].pool() == &h.pool_b); // copied into the receiver's own buffers
    CHECK(keep.kept[0].meta().timestamp_ns == 1'000'000);
    CHECK(h.pool_b.in_use() == 1);
    keep.kept.clear();
    CHECK(h.pool_b.in_use() == 0);
}

TEST_CASE("a hub carries a frame to every NIC but the sender", "[wire][hub]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    buffer_pool pa, pb, pc;
    wire w(s, {.kind = wire::kind::hub, .latency = 10us});
    auto& a = w.attach(reg, named("a"), pa);
    auto& b = w.attach(reg, named("b"), pb);
    auto& c = w.attach(reg, named("c"), pc);
    recorder ra{s}, rb{s}, rc{s};
    a.attach(&ra);
    b.attach(&rb);
    c.attach(&rc);
    packet f = make_frame(pb, 64, 9);
    const auto sent = bytes_of(f);
    REQUIRE(b.transmit(std::move(f)));
    s.run_until_idle();
    CHECK(rb.got.empty());
    REQUIRE(ra.got.size() == 1);
    REQUIRE(rc.got.size() == 1);
    CHECK(ra.got[0].bytes == sent);
    CHECK(rc.got[0].bytes == sent);
    CHECK(ra.got[0].at == at(10us));
    CHECK(w.stats().frames_carried.value == 1);
    CHECK(w.stats().deliveries.value == 2);
    CHECK(pb.in_use() == 0);
}

TEST_CASE("a point-to-point wire joins exactly two NICs", "[wire]") {
    two_hosts h({});
    counter_registry other;
    buffer_pool pc;
    CHECK_THROWS_AS(h.w.attach(other, named("c"), pc), std::logic_error);
}

TEST_CASE("at 10 Mbit/s, frames of 1514 bytes follow each other by 1211.2 us",
          "[wire][bandwidth]") {
    two_hosts h({.latency = 5us, .bandwidth_bps = 10'000'000});
    h.connect();
    for (std::uint32_t i = 0; i < 10; ++i)
        REQUIRE(h.a.transmit(make_frame(h.pool_a, 1514, i)));
    CHECK(h.a.tx_queued() == 10);
    h.s.run_until_idle();
    REQUIRE(h.at_b.got.size() == 10);
    const auto gap = duration(1514 * 8 * 1000 / 10); // ns: 1514 * 8 / 10e6 s
    CHECK(h.w.serialisation(1514) == gap);
    for (std::size_t i = 0; i < 10; ++i) {
        CHECK(h.at_b.got[i].at == at(5us + gap * static_cast<long>(i + 1)));
        CHECK(std::to_integer<int>(h.at_b.got[i].bytes[17]) == static_cast<int>(i));
    }
    CHECK(h.a.tx_queued() == 0);
}

TEST_CASE("a full sender queue refuses with ENOBUFS and wakes tx_ready when half empty",
          "[wire][queue]") {
    two_hosts h({.bandwidth_bps = 10'000'000, .queue_limit = 3});
    h.connect();
    time_point woke{duration(-1)};
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        auto r = co_await h.a.tx_ready().wait();
        if (r) woke = h.s.now();
    });
    h.s.run_once(false); // the waiter is in place

    for (std::uint32_t i = 0; i < 3; ++i)
        REQUIRE(h.a.transmit(make_frame(h.pool_a, 1514, i)));
    auto refused = h.a.transmit(make_frame(h.pool_a, 1514, 3));
    CHECK(refused.error() == ENOBUFS);
    CHECK(h.a.stats().tx_dropped_queue_full.value == 1);
    CHECK(h.w.stats().dropped_queue_full.value == 1);
    CHECK(h.pool_a.in_use() == 3); // the refused frame went back at once

    h.s.run(scope.join());
    CHECK(woke == at(duration(2 * 1'211'200))); // drained to half of 3: two frames left
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 1514, 4)));
    h.s.run_until_idle();
    CHECK(h.at_b.got.size() == 4);
}

TEST_CASE("frames larger than the wire's MTU are dropped and counted", "[wire][mtu]") {
    two_hosts h({.mtu = 1000});
    h.connect();
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 1014)));
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 1015))); // the NIC allows 1514; the wire does not
    h.s.run_until_idle();
    REQUIRE(h.at_b.got.size() == 1);
    CHECK(h.at_b.got[0].bytes.size() == 1014);
    CHECK(h.w.stats().dropped_mtu.value == 1);
    CHECK(h.w.stats().frames_carried.value == 1);
    CHECK(h.pool_a.in_use() == 0);
}

TEST_CASE("a receiver with no free buffer drops and counts, and recovers once buffers come back",
          "[wire][rx]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    buffer_pool pa;
    buffer_pool small({.buffer_size = 2048, .buffer_count = 4});
    wire w(s, {.latency = 1us});
    auto& a = w.attach(reg, named("a"), pa);
    auto& b = w.attach(reg, named("b"), small);
    holder keep;
    b.attach(&keep);

    for (std::uint32_t i = 0; i < 6; ++i)
        REQUIRE(a.transmit(make_frame(pa, 200, i)));
    s.run_until_idle();
    CHECK(keep.kept.size() == 4);
    CHECK(b.stats().rx_dropped_no_buffer.value == 2);
    CHECK(b.stats().rx_frames.value == 4);

    keep.kept.clear(); // the stack is done with them
    for (std::uint32_t i = 0; i < 3; ++i)
        REQUIRE(a.transmit(make_frame(pa, 200, i)));
    s.run_until_idle();
    CHECK(keep.kept.size() == 3);
    CHECK(b.stats().rx_dropped_no_buffer.value == 2);
    keep.kept.clear();
}

TEST_CASE("a full receive ring drops like a missing buffer", "[wire][rx]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    buffer_pool pa, pb;
    wire w(s, {});
    auto& a = w.attach(reg, named("a"), pa);
    auto& b = w.attach(reg, named("b"), pb, {.rx_ring_size = 2});
    recorder rb{s};
    b.attach(&rb);
    for (std::uint32_t i = 0; i < 5; ++i)
        REQUIRE(a.transmit(make_frame(pa, 64, i)));
    s.run_until_idle();
    CHECK(rb.got.size() == 2);
    CHECK(b.stats().rx_dropped_no_buffer.value == 3);
    CHECK(pb.in_use() == 0);
}

TEST_CASE("the DPC delivers at most its budget per run", "[wire][dpc]") {
    two_hosts h({.latency = 1us}, {.dpc_budget = 4});
    h.connect();
    for (std::uint32_t i = 0; i < 10; ++i)
        REQUIRE(h.a.transmit(make_frame(h.pool_a, 64, i)));
    const auto before = h.s.stats().dpcs_run;
    h.s.run_until_idle();
    REQUIRE(h.at_b.got.size() == 10);
    CHECK(h.s.stats().dpcs_run - before == 3);
    // Runs n, n+1, n+2 delivered 4, 4 and 2 frames, in order.
    for (std::size_t i = 0; i < 10; ++i) {
        CHECK(h.at_b.got[i].dpc_run == h.at_b.got[0].dpc_run + i / 4);
        CHECK(std::to_integer<int>(h.at_b.got[i].bytes[17]) == static_cast<int>(i));
    }
    CHECK(h.at_b.got[9].at == at(1us)); // all in the same instant
}

TEST_CASE("a frame sent with checksum offload arrives with its checksum filled in",
          "[wire][offload]") {
    two_hosts h({});
    h.connect();
    // 14 bytes of Ethernet, a 20-byte "IP header", then a UDP-like header and payload whose
    // checksum field (offset 6) holds a partial (pseudo-header) sum, as the stack leaves it.
    packet f = make_frame(h.pool_a, 101);
    std::vector<std::byte> bytes = bytes_of(f);
    bytes[34 + 6] = std::byte{0x12};
    bytes[34 + 7] = std::byte{0x34};
    counter copied;
    packet g = packet::allocate(h.pool_a).value();
    g.append(bytes, copied).value();
    g.meta().offload.flags = packet_offload::needs_csum;
    g.meta().offload.csum_start = 34;
    g.meta().offload.csum_offset = 6;
    REQUIRE(h.a.transmit(std::move(g)));
    h.s.run_until_idle();
    REQUIRE(h.at_b.got.size() == 1);
    const auto& got = h.at_b.got[0].bytes;
    // Over [34, end) the one's complement sum, with the filled checksum, is 0xffff... minus
    // the partial sum that the field held (which the receiver's pseudo-header supplies).
    std::uint32_t sum = 0x1234;
    for (std::size_t i = 34; i < got.size(); i += 2) {
        std::uint32_t word = std::to_integer<std::uint32_t>(got[i]) << 8U;
        if (i + 1 < got.size()) word |= std::to_integer<std::uint32_t>(got[i + 1]);
        sum += word;
    }
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16U);
    CHECK(sum == 0xffff);
    for (std::size_t i = 0; i < got.size(); ++i)
        if (i != 40 && i != 41) CHECK(got[i] == bytes[i]);
    CHECK(h.w.stats().checksums_filled.value == 1);

    // Offsets outside the frame: delivered as it is, counted.
    packet bad = make_frame(h.pool_a, 40);
    bad.meta().offload.flags = packet_offload::needs_csum;
    bad.meta().offload.csum_start = 34;
    bad.meta().offload.csum_offset = 6;
    REQUIRE(h.a.transmit(std::move(bad)));
    h.s.run_until_idle();
    CHECK(h.w.stats().bad_offload.value == 1);
    CHECK(h.at_b.got.size() == 2);
}

TEST_CASE("a NIC that outlives its wire is unplugged", "[wire]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    buffer_pool pa, pb;
    ref<wire_nic> kept;
    {
        wire w(s, {.latency = 1ms});
        kept = ref<wire_nic>(&w.attach(reg, named("a"), pa));
        (void)w.attach(reg, named("b"), pb);
        REQUIRE(kept->transmit(make_frame(pa, 64)));
        CHECK(pa.in_use() == 1);
    }
    CHECK(pa.in_use() == 0); // the frame in flight went with the wire
    CHECK_FALSE(kept->plugged());
    CHECK(kept->transmit(make_frame(pa, 64)).error() == ENETDOWN);
    CHECK(kept->stats().tx_errors.value == 1);
    s.run_until_idle();
}

TEST_CASE("the wire runs on the real clock too", "[wire][real]") {
    scheduler s; // a real monotonic clock; no latency, so nothing waits on it
    counter_registry reg;
    buffer_pool pa, pb;
    wire w(s, {});
    auto& a = w.attach(reg, named("a"), pa);
    auto& b = w.attach(reg, named("b"), pb);
    recorder rb{s};
    b.attach(&rb);
    const auto sent_at = s.now();
    REQUIRE(a.transmit(make_frame(pa, 64, 5)));
    CHECK(s.run_until([&] { return !rb.got.empty(); }));
    REQUIRE(rb.got.size() == 1);
    CHECK(rb.got[0].at >= sent_at);
    CHECK(std::to_integer<int>(rb.got[0].bytes[17]) == 5);
}

TEST_CASE("a cut drops frames one way on arrival, in flight too, until healed",
          "[wire][partition]") {
    two_hosts h({.latency = 1ms});
    h.connect();
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 60, 1))); // in flight when the cut comes
    h.w.cut(h.a, h.b);
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 60, 2)));
    REQUIRE(h.b.transmit(make_frame(h.pool_b, 60, 3))); // the other way still carries
    h.s.run_until_idle();
    CHECK(h.at_b.got.empty());
    CHECK(h.at_a.got.size() == 1);
    CHECK(h.w.stats().dropped_partition.value == 2);
    CHECK(h.pool_a.in_use() == 0); // the dropped frames' buffers went back
    CHECK(h.w.is_cut(h.a, h.b));
    CHECK_FALSE(h.w.is_cut(h.b, h.a));
    h.w.heal(h.a, h.b);
    REQUIRE(h.a.transmit(make_frame(h.pool_a, 60, 4)));
    h.s.run_until_idle();
    REQUIRE(h.at_b.got.size() == 1);
    CHECK(h.at_b.got[0].bytes == bytes_of(make_frame(h.pool_a, 60, 4)));
    CHECK(h.w.stats().dropped_partition.value == 2);
}
