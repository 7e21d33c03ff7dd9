// The harness's other faults (protocols/sim/harness.hpp): a host's clock stepped forward and
// back (seen by its processes, not by its timers or TCP), frames truncated to an MTU (bytes
// arrive exact or not at all, the drops counted), and a shaper whose rate sets the virtual
// time a transfer takes.
#include "protocols/sim/harness.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> pattern(std::size_t n) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 131 + 7) & 0xff);
    return v;
}

// Listens on port 9 and reads everything into `got` until end of stream; `done_at`: when.
// A client, so that a run lasts until every byte is in.
sim::test_network::body sink(sim::test_network& net, std::vector<std::byte>& got,
                             time_point* done_at = nullptr) {
    return [&net, &got, done_at](process& p) -> task<void> {
        auto ls = p.own(co_await p.listen({ipv4_any, 9}));
        if (!ls) co_return;
        auto c = p.own(co_await p.accept(*ls));
        if (!c) co_return;
        std::vector<std::byte> buf(16384);
        for (;;) {
            auto n = co_await p.read(*c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        if (done_at != nullptr) *done_at = net.world().now();
    };
}

// Sends `out` to b:9 and closes; `started`: when the connection was up. Spawned after the
// sink, it runs after the sink's listen().
sim::test_network::body source(sim::test_network& net, const std::vector<std::byte>& out,
                               time_point* started = nullptr) {
    return [&net, &out, started](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 9}));
        if (!c) co_return;
        if (started != nullptr) *started = net.world().now();
        (void)co_await p.write_all(*c, out);
    };
}

std::int64_t wall_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace

TEST_CASE("a clock step moves one host's wall time, not its timers or TCP",
          "[sim][harness][clock]") {
    const auto start = offset_wall_clock::default_start;
    auto transfer = [&](bool step) {
        sim::test_network net({.seed = 5});
        std::vector<std::byte> got;
        const auto out = pattern(256 << 10);
        net.spawn_client(net.b(), sink(net, got));
        std::vector<std::int64_t> seen; // b's wall time as its process reads it, each 100 us
        net.spawn_server(
            net.b(),
            [&, step](process& p) -> task<void> {
                for (int i = 0;; ++i) {
                    seen.push_back(wall_seconds(p.wall_time()));
                    if (step) net.step_clock(net.b(), i % 2 == 0 ? -std::chrono::hours(1)
                                                                 : std::chrono::hours(25));
                    auto slept = co_await sleep_for(100us);
                    if (!slept) co_return;
                }
            },
            "stepper");
        net.spawn_client(net.a(), source(net, out));
        auto r = net.run();
        CHECK(r);
        CHECK(got == out);
        struct outcome {
            time_point at;
            std::vector<std::int64_t> seen;
            std::chrono::system_clock::time_point a_wall, b_wall;
        };
        return outcome{r.at, seen, net.a().wall().now(), net.b().wall().now()};
    };
    const auto plain = transfer(false);
    const auto stepped = transfer(true);
    // The same transfer ends at the same virtual time: no timer saw the steps.
    CHECK(stepped.at == plain.at);
    REQUIRE(stepped.seen.size() >= 3);
    const auto base = wall_seconds(start);
    CHECK(plain.seen.front() == stepped.seen.front());
    CHECK(stepped.seen[1] - stepped.seen[0] == -3600);      // back an hour
    CHECK(stepped.seen[2] - stepped.seen[1] == 25 * 3600);  // then a day and an hour forward
    CHECK(plain.seen[1] - plain.seen[0] <= 1);              // unstepped: 100 us of virtual time
    // Host a's clock is nobody's business but a's: virtual time from the start.
    const auto virtual_s =
        std::chrono::duration_cast<std::chrono::seconds>(stepped.at.since_epoch).count();
    CHECK(wall_seconds(stepped.a_wall) - base == virtual_s);
    CHECK(wall_seconds(stepped.b_wall) - base != virtual_s);
}

TEST_CASE("frames truncated to an MTU are dropped by the receiver, never delivered wrong",
          "[sim][harness][truncate]") {
    // Full segments are 1514-byte frames; a middlebox cutting to 1000 IP bytes spoils every
    // one, while the handshake's and the ACKs' small frames pass.
    sim::test_network net({.faults = {.truncate = 1000}, .time_limit = 20s});
    std::vector<std::byte> got;
    const auto out = pattern(64 << 10);
    net.spawn_client(net.b(), sink(net, got));
    net.spawn_client(net.a(), source(net, out));
    auto r = net.run();
    CHECK_FALSE(r); // the data cannot pass
    REQUIRE(r.hung.size() >= 1);
    CHECK(r.hung[0] == "b/client");
    CHECK(std::equal(got.begin(), got.end(), out.begin())); // a prefix, if anything
    const auto cut = net.link().stats().faults.truncated.value;
    CHECK(cut > 0);
    CHECK(net.counter(net.b(), "ipv4", "in_truncated_pkts") == cut);
    CHECK(net.counter(net.b(), "tcp", "in_csum_errors") == 0);

    net.set_faults({}); // the middlebox goes: retransmissions pass, the stream completes exact
    CHECK(net.run());
    CHECK(got == out);
    CHECK(net.link().stats().faults.truncated.value == cut);
}

TEST_CASE("a transfer through a 10 Mbit/s shaper takes the time the rate implies",
          "[sim][harness][shaper]") {
    constexpr std::uint64_t rate = 10'000'000;
    constexpr std::uint32_t burst = 3028;
    auto transfer = [&](std::optional<shaper_config> shaped) {
        sim::test_network net({.shaper = shaped});
        std::vector<std::byte> got;
        const auto out = pattern(1 << 20);
        time_point started{}, done{};
        net.spawn_client(net.b(), sink(net, got, &done));
        net.spawn_client(net.a(), source(net, out, &started));
        auto r = net.run();
        CHECK(r);
        CHECK(got == out);
        struct outcome {
            duration took;
            std::uint64_t shaped_bytes, delayed;
        };
        return outcome{done - started, net.counter(net.a(), "eth0_shaper", "bytes_passed"),
                       net.counter(net.a(), "eth0_shaper", "frames_delayed")};
    };
    const auto fast = transfer(std::nullopt);
    const auto slow = transfer(shaper_config{.rate_bps = rate, .burst_bytes = burst});
    CHECK(fast.took < 100ms); // 1 Gbit/s
    CHECK(fast.shaped_bytes == 0);
    CHECK(slow.delayed > 0);
    // Every byte a sent after the handshake passed the bucket: at 10 Mbit/s, less the burst
    // it starts with, that is the least the transfer can take; a few RTTs of the end (the
    // last ACK, the FIN) on a 1 ms wire may add to it.
    const auto least = duration(static_cast<std::int64_t>(
        (slow.shaped_bytes - burst) * 8 * 1'000'000'000ULL / rate));
    INFO("took " << slow.took.count() << " ns, rate implies " << least.count() << " ns");
    CHECK(slow.shaped_bytes > (1U << 20));
    CHECK(slow.took >= least - 2ms); // the handshake's frames passed before `started`
    CHECK(slow.took <= least + least / 50 + 5ms);
}

TEST_CASE("shape() shapes one host's transmit path, once", "[sim][harness][shaper]") {
    sim::test_network net;
    auto& s = net.shape(net.a(), {.rate_bps = 1'000'000, .burst_bytes = 1514});
    CHECK_THROWS_AS(net.shape(net.a(), {}), std::logic_error);
    std::vector<std::byte> got;
    const auto out = pattern(100 << 10);
    net.spawn_client(net.b(), sink(net, got));
    net.spawn_client(net.a(), source(net, out));
    auto r = net.run();
    CHECK(r);
    CHECK(got == out);
    CHECK(s.stats().frames_delayed.value > 0);
    // 100 KiB at 1 Mbit/s: more than 0.8 s.
    CHECK(r.at > time_point{} + 800ms);
    CHECK(net.counter(net.b(), "eth0_shaper", "frames_passed") == 0); // b is not shaped
}
