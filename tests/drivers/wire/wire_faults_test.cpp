// The wire's faults: each one alone at probability 1 and 0, its rate at 0.3 over 10,000
// frames, and a seed that replays a run exactly.
#include "drivers/wire/wire.hpp"
#include "framework/coronet.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

using namespace coronet;
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

constexpr std::size_t frame_bytes = 64;

packet make_frame(buffer_pool& pool, std::uint32_t seq) {
    std::vector<std::byte> bytes(frame_bytes, std::byte{0x5a});
    for (int k = 0; k < 4; ++k)
        bytes[14 + k] = std::byte(static_cast<unsigned char>(seq >> (24 - 8 * k)));
    counter copied;
    packet p = packet::allocate(pool).value();
    p.append(bytes, copied).value();
    return p;
}

std::uint32_t seq_of(const std::vector<std::byte>& b) {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k)
        v = (v << 8U) | std::to_integer<std::uint32_t>(b[14 + k]);
    return v;
}

struct recorder final : frame_sink {
    explicit recorder(scheduler& s) : sched(s) {}
    scheduler& sched;
    std::vector<std::pair<time_point, std::vector<std::byte>>> got;
    result<> push(packet&& frame) override {
        std::vector<std::byte> b(frame.length());
        frame.copy_out(0, b).value();
        got.emplace_back(sched.now(), std::move(b));
        return {};
    }
};

// Sends `n` frames 100 us apart over a point-to-point wire with `faults`; what arrived.
struct run_result {
    std::vector<std::pair<time_point, std::vector<std::byte>>> got;
    std::uint64_t lost, duplicated, reordered, corrupted, truncated;
};

run_result send_frames(const fault_config& faults, std::uint32_t n, std::uint64_t seed = 42) {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    counter_registry reg;
    buffer_pool pa({.buffer_size = 256, .buffer_count = 128});
    buffer_pool pb({.buffer_size = 256, .buffer_count = 128});
    wire w(s, {.latency = 20us, .bandwidth_bps = 100'000'000, .faults = faults, .seed = seed});
    auto& a = w.attach(reg, named("a"), pa);
    auto& b = w.attach(reg, named("b"), pb);
    recorder rb{s};
    b.attach(&rb);
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        for (std::uint32_t i = 0; i < n; ++i) {
            a.transmit(make_frame(pa, i)).value();
            (void)co_await sleep_for(100us);
        }
    });
    s.run(scope.join());
    s.run_until_idle();
    const auto& f = w.stats().faults;
    return {std::move(rb.got), f.lost.value, f.duplicated.value, f.reordered.value,
            f.corrupted.value, f.truncated.value};
}

std::size_t corrupted_frames(const run_result& r) {
    std::size_t n = 0;
    for (const auto& [t, b] : r.got) {
        std::size_t diff = 0;
        for (std::size_t i = 0; i < b.size(); ++i)
            if (i < 14 || i >= 18) diff += b[i] != std::byte{0x5a};
        // a byte of the sequence number may be the corrupted one: count it by its range
        if (seq_of(b) >= 10'000) ++diff;
        n += diff > 0;
    }
    return n;
}

// Frames that arrived after a frame sent later than them.
std::size_t overtaken_frames(const run_result& r) {
    std::size_t n = 0;
    std::uint32_t highest = 0;
    bool any = false;
    for (const auto& [t, b] : r.got) {
        const auto s = seq_of(b);
        if (any && s < highest) ++n;
        if (!any || s > highest) highest = s;
        any = true;
    }
    return n;
}

} // namespace

TEST_CASE("no faults: every frame arrives once, intact, in order", "[wire][faults]") {
    auto r = send_frames({}, 100);
    REQUIRE(r.got.size() == 100);
    CHECK(overtaken_frames(r) == 0);
    CHECK(corrupted_frames(r) == 0);
    CHECK(r.lost + r.duplicated + r.reordered + r.corrupted == 0);
    // 64 bytes at 100 Mbit/s: 5.12 us, plus 20 us of latency.
    CHECK(r.got[3].first == time_point{} + 300us + 25120ns);
}

TEST_CASE("loss", "[wire][faults]") {
    CHECK(send_frames({.loss = 1.0}, 100).got.empty());
    CHECK(send_frames({.loss = 1.0}, 100).lost == 100);
    auto none = send_frames({.loss = 0.0}, 100);
    CHECK(none.got.size() == 100);
    CHECK(none.lost == 0);
    auto some = send_frames({.loss = 0.3}, 10'000);
    CHECK(some.lost + some.got.size() == 10'000);
    CHECK(some.lost > 2'800);
    CHECK(some.lost < 3'200);
}

TEST_CASE("duplication", "[wire][faults]") {
    auto all = send_frames({.duplicate = 1.0}, 100);
    REQUIRE(all.got.size() == 200);
    CHECK(all.duplicated == 100);
    for (std::size_t i = 0; i < 200; i += 2) {
        CHECK(all.got[i].second == all.got[i + 1].second); // the copy right behind
        CHECK(all.got[i].first == all.got[i + 1].first);
    }
    CHECK(send_frames({.duplicate = 0.0}, 100).got.size() == 100);
    auto some = send_frames({.duplicate = 0.3}, 10'000);
    CHECK(some.got.size() == 10'000 + some.duplicated);
    CHECK(some.duplicated > 2'800);
    CHECK(some.duplicated < 3'200);
}

TEST_CASE("reordering", "[wire][faults]") {
    // Every frame held back by the same time: none overtakes another.
    auto all = send_frames({.reorder = 1.0, .reorder_delay = 1ms}, 100);
    REQUIRE(all.got.size() == 100);
    CHECK(all.reordered == 100);
    CHECK(overtaken_frames(all) == 0);
    CHECK(all.got[0].first == time_point{} + 1ms + 25120ns);
    auto none = send_frames({.reorder = 0.0}, 100);
    CHECK(overtaken_frames(none) == 0);
    CHECK(none.reordered == 0);
    // Frames 100 us apart, one held back 1 ms: the next ones overtake it.
    auto some = send_frames({.reorder = 0.3, .reorder_delay = 1ms}, 10'000);
    CHECK(some.got.size() == 10'000);
    const auto seen = overtaken_frames(some);
    CHECK(seen > 2'700);
    CHECK(seen < 3'300);
    CHECK(seen <= some.reordered);
}

TEST_CASE("corruption flips one byte", "[wire][faults]") {
    auto all = send_frames({.corrupt = 1.0}, 100);
    REQUIRE(all.got.size() == 100);
    CHECK(all.corrupted == 100);
    for (const auto& [t, b] : all.got) {
        std::size_t diff = 0;
        for (std::size_t i = 0; i < b.size(); ++i)
            if (i < 14 || i >= 18) diff += b[i] != std::byte{0x5a};
        CHECK(diff <= 1); // 0 when the flipped byte is in the sequence number
    }
    CHECK(corrupted_frames(all) >= 90);
    auto none = send_frames({.corrupt = 0.0}, 100);
    CHECK(corrupted_frames(none) == 0);
    auto some = send_frames({.corrupt = 0.3}, 10'000);
    CHECK(some.corrupted > 2'800);
    CHECK(some.corrupted < 3'200);
    CHECK(corrupted_frames(some) <= some.corrupted);
    CHECK(corrupted_frames(some) > some.corrupted * 9 / 10);
}

TEST_CASE("delay and jitter add to the latency", "[wire][faults]") {
    auto fixed = send_frames({.delay = 2ms}, 10);
    REQUIRE(fixed.got.size() == 10);
    CHECK(fixed.got[0].first == time_point{} + 2ms + 25120ns);
    auto jittery = send_frames({.jitter = 50us}, 1000);
    REQUIRE(jittery.got.size() == 1000);
    for (const auto& [t, b] : jittery.got) {
        const auto sent = time_point{} + 100us * static_cast<long>(seq_of(b));
        CHECK(t - sent >= 25120ns);
        CHECK(t - sent <= 25120ns + 50us);
    }
}

TEST_CASE("the same seed replays the same run; another seed does not", "[wire][faults][seed]") {
    const fault_config faults{.loss = 0.1,
                              .duplicate = 0.1,
                              .reorder = 0.1,
                              .corrupt = 0.1,
                              .jitter = 30us,
                              .reorder_delay = 500us};
    auto first = send_frames(faults, 500, 7);
    auto again = send_frames(faults, 500, 7);
    auto other = send_frames(faults, 500, 8);
    CHECK(first.got == again.got);
    CHECK(first.lost == again.lost);
    CHECK(first.got != other.got);
}

TEST_CASE("truncation cuts frames above the limit, draws nothing and replays the same faults",
          "[wire][faults][truncate]") {
    // Frames are 64 bytes: 50 IP bytes. A limit of 30 cuts each to 44, counted; 50 or more
    // leaves them whole.
    auto cut = send_frames({.truncate = 30}, 100);
    REQUIRE(cut.got.size() == 100);
    for (const auto& [t, b] : cut.got)
        CHECK(b.size() == 44);
    CHECK(seq_of(cut.got[7].second) == 7); // the head of the frame is intact
    CHECK(cut.truncated == 100);
    CHECK(send_frames({.truncate = 50}, 100).got.at(0).second.size() == frame_bytes);
    // Truncation takes no random draw: loss with and without it strikes the same frames.
    auto lossy = send_frames({.loss = 0.3}, 1'000);
    auto lossy_cut = send_frames({.loss = 0.3, .truncate = 30}, 1'000);
    REQUIRE(lossy.got.size() == lossy_cut.got.size());
    for (std::size_t i = 0; i < lossy.got.size(); ++i)
        CHECK(seq_of(lossy.got[i].second) == seq_of(lossy_cut.got[i].second));
}
