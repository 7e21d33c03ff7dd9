// The reactor under the scheduler: ring flags and their fallback, the completion-queue
// overflow guard, background operations and virtual time, and blocking in the ring until
// the next timer.
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"
#include "tests/framework/uring_fixture.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <unistd.h>
#include <vector>

using namespace coronet;
using test::pipe_fds;
namespace uring = coronet::uring;
using namespace std::chrono_literals;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

task<std::string> read_some(int fd) {
    std::array<std::byte, 64> buf{};
    auto rd = co_await uring::read(fd, buf);
    co_return std::string(reinterpret_cast<const char*>(buf.data()), rd.value());
}

// A nop and a pipe read, to show a ring works whatever flags it got.
void exercise(scheduler& sched) {
    pipe_fds p;
    auto ok = sched.run([]() -> task<bool> { co_return static_cast<bool>(co_await uring::nop()); }());
    CHECK(ok);
    task_scope scope;
    std::string got;
    scope.spawn([&]() -> task<void> { got = co_await read_some(p.r); });
    sched.run_once(false);
    sched.run_once(false);
    p.put("data");
    sched.run(scope.join());
    CHECK(got == "data");
}

constexpr unsigned deferred = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

} // namespace

TEST_CASE("the reactor attaches to its scheduler and current() finds it", "[uring][reactor]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    CHECK(uring::uring_reactor::current_or_null() == nullptr);
    {
        uring::uring_reactor r(sched);
        CHECK(sched.io() == &r);
        CHECK(&uring::uring_reactor::current() == &r);
    }
    CHECK(sched.io() == nullptr);
    CHECK_THROWS_AS(uring::uring_reactor::current(), std::logic_error);
}

TEST_CASE("the ring gets single-issuer deferred task work on a kernel that has it", "[uring][reactor][flags]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor r(sched);
    INFO("setup flags 0x" << std::hex << r.setup_flags() << " after " << r.setup_attempts() << " attempt(s)");
    CHECK((r.setup_flags() & deferred) == deferred);
    CHECK((r.setup_flags() & IORING_SETUP_CQSIZE) != 0);
    CHECK(r.defer_taskrun());
    CHECK(r.setup_attempts() == 1);
    CHECK(r.cq_entries() > r.sq_entries());
    exercise(sched);
}

TEST_CASE("refused flags fall back to cooperative task work, then to none", "[uring][reactor][flags]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    SECTION("no deferred task work: single issuer + cooperative task work") {
        uring::uring_reactor r(sched, {.refuse_flags = IORING_SETUP_DEFER_TASKRUN});
        CHECK_FALSE(r.defer_taskrun());
        CHECK((r.setup_flags() & IORING_SETUP_COOP_TASKRUN) != 0);
        CHECK(r.setup_attempts() == 2);
        exercise(sched);
    }
    SECTION("no task-work flags at all: a plain ring") {
        uring::uring_reactor r(sched, {.refuse_flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN});
        CHECK((r.setup_flags() & ~unsigned{IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP}) == 0);
        CHECK(r.setup_attempts() == 4);
        exercise(sched);
    }
}

TEST_CASE("4096 nops on a small ring all complete without overflowing the CQ", "[uring][reactor][overflow]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor r(sched, {.sq_entries = 8, .cq_entries = 32});
    REQUIRE(r.max_in_flight() == 24);
    std::size_t done = 0, max_seen = 0;
    task_scope scope;
    for (int i = 0; i < 4096; ++i)
        scope.spawn([&]() -> task<void> {
            max_seen = std::max(max_seen, r.in_flight());
            auto ok = co_await uring::nop();
            if (ok) ++done;
        });
    sched.run(scope.join());
    CHECK(done == 4096);
    CHECK(r.stats().completed == 4096);
    CHECK(r.stats().cq_overflows == 0);
    CHECK(max_seen <= r.max_in_flight());
    CHECK(r.stats().sq_full > 0); // 8 SQEs at a time: the SQ filled and was submitted first
}

TEST_CASE("pipe reads beyond the in-flight limit wait in the FIFO and all complete", "[uring][reactor][overflow]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor r(sched, {.sq_entries = 4, .cq_entries = 16});
    REQUIRE(r.max_in_flight() == 12);
    pipe_fds p;
    std::string got;
    task_scope scope;
    for (int i = 0; i < 200; ++i)
        scope.spawn([&]() -> task<void> {
            std::array<std::byte, 1> b{};
            auto rd = co_await uring::read(p.r, b);
            if (rd && *rd == 1) got += static_cast<char>(b[0]);
        });
    sched.run_once(false);
    sched.run_once(false);
    CHECK(r.in_flight() == 12);
    CHECK(r.waiting_for_room() == 188);
    CHECK(r.stats().queued == 188);
    p.put(std::string(200, 'x'));
    sched.run(scope.join());
    CHECK(got == std::string(200, 'x'));
    CHECK(r.in_flight() == 0);
    CHECK(r.waiting_for_room() == 0);
    CHECK(r.stats().cq_overflows == 0);
}

TEST_CASE("by default 5,000 reads waiting on a silent peer leave room: a nop is not queued",
          "[uring][reactor][overflow]") {
    // What a host-stack server with 5,000 idle connections has in flight: a receive each.
    // With the CQ at 4 x 256 entries the limit was 768, and the 769th operation (the accept
    // or the answer of an active client) waited behind receives that might never complete.
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor r(sched);
    REQUIRE(r.max_in_flight() >= 5001);
    pipe_fds p;
    std::size_t got = 0;
    bool nop_done = false;
    task_scope scope;
    for (int i = 0; i < 5000; ++i)
        scope.spawn([&]() -> task<void> {
            std::array<std::byte, 1> b{};
            auto rd = co_await uring::read(p.r, b);
            if (rd && *rd == 1) ++got;
        });
    for (int turn = 0; turn < 1000 && r.in_flight() < 5000; ++turn)
        sched.run_once(false); // each turn starts a batch of the spawned readers
    CHECK(r.in_flight() == 5000);
    scope.spawn([&]() -> task<void> { nop_done = (co_await uring::nop()).has_value(); });
    sched.run_until([&] { return nop_done; });
    CHECK(nop_done);
    CHECK(r.stats().queued == 0);
    p.put(std::string(5000, 'x'));
    sched.run(scope.join());
    CHECK(got == 5000);
    CHECK(r.stats().cq_overflows == 0);
}

TEST_CASE("a background read does not hold back a virtual clock", "[uring][reactor][background]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor r(sched);
    pipe_fds p;
    std::string got;
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        std::array<std::byte, 16> b{};
        auto rd = co_await uring::background(uring::read(p.r, b));
        got.assign(reinterpret_cast<const char*>(b.data()), rd.value());
    });
    sched.run_once(false);
    sched.run_once(false);
    CHECK(r.in_flight() == 1);
    CHECK(r.pending() == 0);

    // Ten virtual seconds pass at once although the read is still in the kernel.
    auto before = clock.now();
    auto slept = sched.run([]() -> task<bool> { co_return static_cast<bool>(co_await sleep_for(10s)); }());
    CHECK(slept);
    CHECK(clock.now() - before == 10s);
    CHECK(sched.stats().time_jumps >= 1);
    CHECK(r.in_flight() == 1);

    p.put("tap frame");
    sched.run_until([&] { return !got.empty(); });
    CHECK(got == "tap frame");
    sched.run(scope.join());
}

TEST_CASE("a counted read keeps a virtual clock from jumping", "[uring][reactor][background]") {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor r(sched);
    pipe_fds p;
    task_scope scope;
    std::string got;
    scope.spawn([&]() -> task<void> { got = co_await read_some(p.r); });
    sched.run_once(false);
    sched.run_once(false);
    CHECK(r.pending() == 1);
    // With a read pending, an idle turn waits in the ring (here: for data already there)
    // instead of jumping to the 10 s timer.
    p.put("x");
    bool slept = false;
    scope.spawn([&]() -> task<void> { slept = static_cast<bool>(co_await sleep_for(10s)); });
    sched.run_until([&] { return !got.empty(); });
    CHECK(got == "x");
    CHECK_FALSE(slept);
    CHECK(clock.now() == time_point{});
    sched.run(scope.join());
    CHECK(slept);
}

TEST_CASE("a real-clock scheduler sleeps in the reactor until the next timer", "[uring][reactor][wait]") {
    scheduler sched;
    uring::uring_reactor r(sched);
    pipe_fds p;
    task_scope scope;
    std::string got;
    scope.spawn([&]() -> task<void> { got = co_await read_some(p.r); });
    sched.run_once(false);
    sched.run_once(false);
    REQUIRE(r.pending() == 1);
    auto start = std::chrono::steady_clock::now();
    auto woke = sched.run([]() -> task<bool> { co_return static_cast<bool>(co_await sleep_for(5ms)); }());
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(woke);
    CHECK(elapsed >= 5ms);
    CHECK(r.stats().waits >= 1);          // blocked in io_uring_enter with the timer's timeout
    CHECK(sched.stats().idle_waits >= 1);
    CHECK(got.empty());
    p.put("done");
    sched.run(scope.join());
    CHECK(got == "done");
}
