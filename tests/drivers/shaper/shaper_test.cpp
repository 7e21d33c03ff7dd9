// The token-bucket shaper on a NIC's transmit path, on virtual time: frames leave at exactly
// the configured rate after the burst, a full queue refuses and later wakes the writer.
#include "drivers/shaper/shaper.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/coronet.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

nic_config named(const char* name) {
    nic_config c;
    c.name = name;
    return c;
}

packet make_frame(buffer_pool& pool, std::size_t length) {
    std::vector<std::byte> bytes(length, std::byte{0x42});
    counter copied;
    packet p = packet::allocate(pool).value();
    p.append(bytes, copied).value();
    return p;
}

struct arrivals final : frame_sink {
    explicit arrivals(scheduler& s) : sched(s) {}
    scheduler& sched;
    std::vector<time_point> at;
    result<> push(packet&&) override {
        at.push_back(sched.now());
        return {};
    }
};

// a -> b over an ideal wire (no latency, no bandwidth limit): b sees what the shaper lets go.
struct shaped_link {
    explicit shaped_link(shaper_config c) : tbf(s, reg, std::move(c)) {
        a.add_tx_stage(tbf);
        b.attach(&seen);
    }
    virtual_clock clk;
    scheduler s{{.time_source = &clk}};
    counter_registry reg;
    buffer_pool pa, pb;
    wire w{s, {}};
    wire_nic& a = w.attach(reg, named("a"), pa);
    wire_nic& b = w.attach(reg, named("b"), pb);
    arrivals seen{s};
    shaper tbf;
};

constexpr duration frame_time{1'211'200}; // 1514 bytes at 10 Mbit/s

time_point at(duration d) { return time_point{} + d; }

} // namespace

TEST_CASE("a burst leaves at the configured rate", "[shaper]") {
    shaped_link l({.rate_bps = 10'000'000, .burst_bytes = 1514});
    for (int i = 0; i < 10; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 1514)));
    CHECK(l.tbf.queued() == 9);
    l.s.run_until_idle();
    REQUIRE(l.seen.at.size() == 10);
    for (std::size_t i = 0; i < 10; ++i)
        CHECK(l.seen.at[i] == at(frame_time * static_cast<long>(i)));
    CHECK(l.tbf.stats().frames_passed.value == 10);
    CHECK(l.tbf.stats().frames_delayed.value == 9);
    CHECK(l.tbf.stats().bytes_passed.value == 15140);
}

TEST_CASE("the bucket lets a burst through at once, then the rate", "[shaper]") {
    shaped_link l({.rate_bps = 10'000'000, .burst_bytes = 3 * 1514});
    for (int i = 0; i < 5; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 1514)));
    l.s.run_until_idle();
    REQUIRE(l.seen.at.size() == 5);
    CHECK(l.seen.at[0] == at(0ns));
    CHECK(l.seen.at[2] == at(0ns));
    CHECK(l.seen.at[3] == at(frame_time));
    CHECK(l.seen.at[4] == at(2 * frame_time));

    // Idle long enough to refill the whole bucket (and far longer: no overflow).
    l.clk.advance(3600s);
    for (int i = 0; i < 4; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 1514)));
    l.s.run_until_idle();
    REQUIRE(l.seen.at.size() == 9);
    const auto t = l.seen.at[5];
    CHECK(l.seen.at[7] == t);
    CHECK(l.seen.at[8] == t + frame_time);
}

TEST_CASE("small frames share the rate by their length", "[shaper]") {
    shaped_link l({.rate_bps = 1'000'000, .burst_bytes = 100});
    for (int i = 0; i < 3; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 100)));
    REQUIRE(l.a.transmit(make_frame(l.pa, 50)));
    REQUIRE(l.a.transmit(make_frame(l.pa, 100)));
    l.s.run_until_idle();
    REQUIRE(l.seen.at.size() == 5);
    // 100 bytes at 1 Mbit/s: 800 us; 50 bytes: 400 us.
    CHECK(l.seen.at[1] == at(800us));
    CHECK(l.seen.at[2] == at(1600us));
    CHECK(l.seen.at[3] == at(2000us));
    CHECK(l.seen.at[4] == at(2800us));
}

TEST_CASE("a frame larger than the burst waits for a full bucket and leaves a debt", "[shaper]") {
    shaped_link l({.rate_bps = 10'000'000, .burst_bytes = 500});
    for (int i = 0; i < 3; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 1514)));
    l.s.run_until_idle();
    REQUIRE(l.seen.at.size() == 3);
    CHECK(l.seen.at[0] == at(0ns));
    CHECK(l.seen.at[1] == at(frame_time));
    CHECK(l.seen.at[2] == at(2 * frame_time));
}

TEST_CASE("a full shaper queue refuses with ENOBUFS and wakes the NIC's writers later",
          "[shaper]") {
    shaped_link l({.rate_bps = 10'000'000, .burst_bytes = 1514, .queue_limit = 3});
    l.tbf.wake_on_space(l.a.tx_ready());
    time_point woke{duration(-1)};
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        auto r = co_await l.a.tx_ready().wait();
        if (r) woke = l.s.now();
    });
    l.s.run_once(false);

    int refused = 0;
    for (int i = 0; i < 10; ++i) {
        auto r = l.a.transmit(make_frame(l.pa, 1514));
        if (!r) {
            CHECK(r.error() == ENOBUFS);
            ++refused;
        }
    }
    CHECK(refused == 6);                      // one passed, three wait
    CHECK(l.a.stats().tx_frames.value == 10); // the NIC passed them all to its stages
    CHECK(l.tbf.stats().dropped_queue_full.value == 6);
    l.s.run(scope.join());
    CHECK(woke == at(frame_time));
    l.s.run_until_idle();
    CHECK(l.seen.at.size() == 4);
    CHECK(l.pa.in_use() == 0);
}

TEST_CASE("a shaper needs a rate and a burst", "[shaper]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    CHECK_THROWS_AS(shaper(s, reg, {.rate_bps = 0}), std::invalid_argument);
    CHECK_THROWS_AS(shaper(s, reg, {.burst_bytes = 0}), std::invalid_argument);
}

TEST_CASE("flush drops the waiting frames, counted, and nothing more leaves", "[shaper]") {
    shaped_link l({.rate_bps = 10'000'000, .burst_bytes = 1514});
    for (int i = 0; i < 5; ++i)
        REQUIRE(l.a.transmit(make_frame(l.pa, 1514)));
    CHECK(l.tbf.queued() == 4); // the burst let one go
    l.tbf.flush();
    CHECK(l.tbf.queued() == 0);
    CHECK(l.tbf.stats().dropped_flushed.value == 4);
    CHECK(l.pa.in_use() <= 1); // what is left is the frame that went, on the wire
    l.s.run_until_idle();
    CHECK(l.seen.at.size() == 1);
    CHECK(l.pa.in_use() == 0);
    REQUIRE(l.a.transmit(make_frame(l.pa, 1514))); // the bucket goes on as before
    l.s.run_until_idle();
    CHECK(l.seen.at.size() == 2);
    CHECK(l.seen.at[1] == at(frame_time));
}
