// The fault stage on a NIC's transmit and receive paths: the wire's fault model, applied to
// frames that may share buffers with the stack.
#include "drivers/faults/fault_stage.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/coronet.hpp"
#include "tests/drivers/frame_bytes.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace coronet;
using coronet::testing::bytes_of;
using coronet::testing::packet_from;
using namespace std::chrono_literals;

namespace {

nic_config named(const char* name) {
    nic_config c;
    c.name = name;
    return c;
}

packet make_frame(buffer_pool& pool, std::size_t length, std::uint8_t seq) {
    std::vector<std::byte> bytes(length, std::byte{0x33});
    bytes[14] = std::byte{seq};
    return packet_from(pool, bytes);
}

struct recorder final : frame_sink {
    explicit recorder(scheduler& s) : sched(s) {}
    scheduler& sched;
    std::vector<std::pair<time_point, std::vector<std::byte>>> got;
    result<> push(packet&& frame) override {
        got.emplace_back(sched.now(), bytes_of(frame));
        return {};
    }
};

struct test_link {
    virtual_clock clk;
    scheduler s{{.time_source = &clk}};
    counter_registry reg;
    buffer_pool pa, pb;
    wire w{s, {.latency = 10us}};
    wire_nic& a = w.attach(reg, named("a"), pa);
    wire_nic& b = w.attach(reg, named("b"), pb);
    recorder at_b{s};
    test_link() { b.attach(&at_b); }
};

time_point at(duration d) { return time_point{} + d; }

} // namespace

TEST_CASE("on the transmit path: loss at 1 and 0", "[faults][stage]") {
    test_link l;
    fault_stage lossy(l.s, l.reg, {.name = "lossy", .faults = {.loss = 1.0}});
    l.a.add_tx_stage(lossy);
    for (std::uint8_t i = 0; i < 20; ++i)
        CHECK(l.a.transmit(make_frame(l.pa, 60, i)));
    l.s.run_until_idle();
    CHECK(l.at_b.got.empty());
    CHECK(lossy.stats().faults.lost.value == 20);
    CHECK(lossy.stats().frames.value == 20);
    CHECK(l.pa.in_use() == 0);
    lossy.model().set_config({.loss = 0.0});
    for (std::uint8_t i = 0; i < 20; ++i)
        CHECK(l.a.transmit(make_frame(l.pa, 60, i)));
    l.s.run_until_idle();
    CHECK(l.at_b.got.size() == 20);
    CHECK(lossy.stats().faults.lost.value == 20);
}

TEST_CASE("on the transmit path: corruption works on a copy, never on shared buffers",
          "[faults][stage]") {
    test_link l;
    fault_stage bad(l.s, l.reg, {.name = "bad", .faults = {.corrupt = 1.0}, .seed = 3});
    l.a.add_tx_stage(bad);
    packet f = make_frame(l.pa, 200, 1);
    packet kept = f.share().value(); // as a TCP send buffer would keep it
    const auto original = bytes_of(f);
    REQUIRE(l.a.transmit(std::move(f)));
    l.s.run_until_idle();
    CHECK(bytes_of(kept) == original);
    REQUIRE(l.at_b.got.size() == 1);
    const auto& got = l.at_b.got[0].second;
    REQUIRE(got.size() == original.size());
    std::size_t diff = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        diff += got[i] != original[i];
    CHECK(diff == 1);
    CHECK(bad.stats().faults.corrupted.value == 1);
    CHECK(bad.stats().bytes_copied.value == 200);
}

TEST_CASE("on the transmit path: delay and jitter hold frames, reordering lets others pass",
          "[faults][stage]") {
    test_link l;
    fault_stage slow(l.s, l.reg, {.name = "slow", .faults = {.delay = 5ms}});
    l.a.add_tx_stage(slow);
    REQUIRE(l.a.transmit(make_frame(l.pa, 60, 1)));
    CHECK(slow.held() == 1);
    l.s.run_until_idle();
    REQUIRE(l.at_b.got.size() == 1);
    CHECK(l.at_b.got[0].first == at(5ms + 10us));
    CHECK(slow.stats().delayed.value == 1);

    // Every other frame held back 1 ms; frames sent 100 us apart.
    l.at_b.got.clear();
    slow.model().set_config({.reorder = 0.5, .reorder_delay = 1ms});
    const auto start = l.s.now();
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        for (std::uint8_t i = 0; i < 40; ++i) {
            (void)l.a.transmit(make_frame(l.pa, 60, i));
            (void)co_await sleep_for(100us);
        }
    });
    l.s.run(scope.join());
    l.s.run_until_idle();
    REQUIRE(l.at_b.got.size() == 40);
    std::size_t overtaken = 0;
    int highest = -1;
    for (const auto& [t, b] : l.at_b.got) {
        const int seq = std::to_integer<int>(b[14]);
        const auto sent = start + 100us * seq;
        CHECK((t - sent == 10us || t - sent == 1ms + 10us));
        if (seq < highest) ++overtaken;
        highest = std::max(highest, seq);
    }
    CHECK(overtaken > 0);
    CHECK(overtaken <= slow.stats().faults.reordered.value);
}

TEST_CASE("a full delay queue refuses with ENOBUFS", "[faults][stage]") {
    test_link l;
    fault_stage slow(l.s, l.reg, {.name = "slow", .faults = {.delay = 1ms}, .queue_limit = 2});
    l.a.add_tx_stage(slow);
    CHECK(l.a.transmit(make_frame(l.pa, 60, 1)));
    CHECK(l.a.transmit(make_frame(l.pa, 60, 2)));
    CHECK(l.a.transmit(make_frame(l.pa, 60, 3)).error() == ENOBUFS);
    CHECK(slow.stats().dropped_queue_full.value == 1);
    l.s.run_until_idle();
    CHECK(l.at_b.got.size() == 2);
}

TEST_CASE("on the receive path: duplication and loss before the stack", "[faults][stage]") {
    test_link l;
    fault_stage twice(l.s, l.reg, {.name = "twice", .faults = {.duplicate = 1.0}});
    l.b.add_rx_stage(twice);
    for (std::uint8_t i = 0; i < 5; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 60, i)));
    l.s.run_until_idle();
    REQUIRE(l.at_b.got.size() == 10);
    for (std::size_t i = 0; i < 10; i += 2)
        CHECK(l.at_b.got[i] == l.at_b.got[i + 1]);
    CHECK(l.b.stats().rx_frames.value == 5); // the NIC received five; the stage doubled them
    CHECK(twice.stats().faults.duplicated.value == 5);
    CHECK(l.pb.in_use() == 0);

    l.at_b.got.clear();
    twice.model().set_config({.loss = 0.3});
    for (std::uint8_t i = 0; i < 200; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 60, i)));
    l.s.run_until_idle();
    CHECK(l.at_b.got.size() + twice.stats().faults.lost.value == 200);
    CHECK(twice.stats().faults.lost.value > 30);
    CHECK(twice.stats().faults.lost.value < 90);
}

TEST_CASE("on the receive path: a corrupted copy comes from the receiver's pool",
          "[faults][stage]") {
    test_link l;
    fault_stage bad(l.s, l.reg, {.name = "bad", .faults = {.corrupt = 1.0}});
    l.b.add_rx_stage(bad);
    REQUIRE(l.a.transmit(make_frame(l.pa, 100, 7)));
    l.s.run_until_idle();
    REQUIRE(l.at_b.got.size() == 1);
    std::size_t diff = 0;
    const auto expected = bytes_of(make_frame(l.pa, 100, 7));
    for (std::size_t i = 0; i < 100; ++i)
        diff += l.at_b.got[0].second[i] != expected[i];
    CHECK(diff == 1);
    CHECK(l.pb.in_use() == 0);
    CHECK(l.pb.high_water() == 2); // the NIC's buffer and the stage's copy
}

TEST_CASE("the same seed gives the same faults on the stage", "[faults][stage][seed]") {
    auto run = [](std::uint64_t seed) {
        test_link l;
        fault_stage f(
            l.s, l.reg,
            {.name = "f", .faults = {.loss = 0.2, .duplicate = 0.2, .jitter = 50us}, .seed = seed});
        l.a.add_tx_stage(f);
        for (std::uint8_t i = 0; i < 100; ++i)
            (void)l.a.transmit(make_frame(l.pa, 60, i));
        l.s.run_until_idle();
        return l.at_b.got;
    };
    CHECK(run(11) == run(11));
    CHECK(run(11) != run(12));
}

TEST_CASE("on the transmit path: truncation cuts the frame, never the shared bytes, and counts",
          "[faults][stage][truncate]") {
    test_link l;
    fault_stage cutter(l.s, l.reg, {.name = "cutter", .faults = {.truncate = 100}});
    l.a.add_tx_stage(cutter);
    packet f = make_frame(l.pa, 300, 9);
    packet kept = f.share().value(); // as a TCP send buffer would keep it
    const auto original = bytes_of(f);
    REQUIRE(l.a.transmit(std::move(f)));
    REQUIRE(l.a.transmit(make_frame(l.pa, 114, 10))); // exactly at the limit: whole
    l.s.run_until_idle();
    CHECK(bytes_of(kept) == original);
    REQUIRE(l.at_b.got.size() == 2);
    const auto& got = l.at_b.got[0].second;
    REQUIRE(got.size() == 114); // 100 IP bytes and the Ethernet header
    CHECK(std::equal(got.begin(), got.end(), original.begin()));
    CHECK(l.at_b.got[1].second.size() == 114);
    CHECK(cutter.stats().faults.truncated.value == 1);
    CHECK(cutter.stats().bytes_copied.value == 0); // a cut needs no copy
}
