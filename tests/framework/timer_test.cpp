// Clocks, the timing wheel and sleeping coroutines, on virtual time.
#include "framework/coronet.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct recorded_timer : timer_entry {
    static std::vector<std::pair<int, time_point>>* log;
    static clock_source* clk;
    int id = 0;
    recorded_timer() : timer_entry(&fire) {}
    static void fire(timer_entry* t) { log->push_back({static_cast<recorded_timer*>(t)->id, clk->now()}); }
};
std::vector<std::pair<int, time_point>>* recorded_timer::log = nullptr;
clock_source* recorded_timer::clk = nullptr;

time_point at(duration d) { return time_point{} + d; }

} // namespace

TEST_CASE("a virtual clock moves only when told, and never backwards", "[clock]") {
    virtual_clock c;
    CHECK(c.now() == time_point{});
    c.advance(5ms);
    CHECK(c.now() == at(5ms));
    CHECK_THROWS_AS(c.advance_to(at(1ms)), std::logic_error);
    real_clock r;
    CHECK_THROWS_AS(r.advance_to(at(1ms)), std::logic_error);
    auto first = r.now();
    auto second = r.now();
    CHECK(first <= second);
}

TEST_CASE("10,000 random timers fire in time order, each exactly at its expiry", "[timer]") {
    virtual_clock c;
    scheduler s({.time_source = &c});
    std::vector<std::pair<int, time_point>> log;
    recorded_timer::log = &log;
    recorded_timer::clk = &c;

    std::mt19937_64 rng(1234);
    // Spread over nine orders of magnitude, so every level of the wheel is used.
    std::vector<recorded_timer> timers(10'000);
    std::vector<time_point> expiry(timers.size());
    for (std::size_t i = 0; i < timers.size(); ++i) {
        auto scale = std::uniform_int_distribution<int>(0, 9)(rng);
        std::int64_t limit = 1;
        for (int k = 0; k < scale; ++k) limit *= 10;
        expiry[i] = at(std::chrono::nanoseconds(std::uniform_int_distribution<std::int64_t>(0, limit * 1000)(rng)));
        timers[i].id = static_cast<int>(i);
        s.timers().add(timers[i], expiry[i]);
    }
    s.run_until_idle();

    REQUIRE(log.size() == timers.size());
    for (auto& [id, when] : log) CHECK(when == expiry[static_cast<std::size_t>(id)]);
    CHECK(std::is_sorted(log.begin(), log.end(), [](auto& a, auto& b) { return a.second < b.second; }));
}

TEST_CASE("a cancelled timer never fires and a re-armed one fires at its new time", "[timer]") {
    virtual_clock c;
    timer_wheel w(c.now());
    std::vector<std::pair<int, time_point>> log;
    recorded_timer::log = &log;
    recorded_timer::clk = &c;
    recorded_timer a, b;
    a.id = 1;
    b.id = 2;
    w.add(a, at(10ms));
    w.add(b, at(20ms));
    a.cancel();
    CHECK_FALSE(a.armed());
    w.add(b, at(5ms)); // re-arm earlier
    CHECK(w.next_expiry() == at(5ms));
    c.advance_to(at(30ms));
    CHECK(w.advance(c.now()) == 1);
    REQUIRE(log.size() == 1);
    CHECK(log[0].first == 2);
    CHECK(w.empty());
}

TEST_CASE("timers far in the future and after long jumps stay exact", "[timer]") {
    virtual_clock c;
    timer_wheel w(c.now());
    std::vector<std::pair<int, time_point>> log;
    recorded_timer::log = &log;
    recorded_timer::clk = &c;
    recorded_timer hour, year, decade;
    hour.id = 1;
    year.id = 2;
    decade.id = 3; // beyond the wheel's top level: kept in the overflow list
    w.add(hour, at(3600s));
    w.add(year, at(365 * 24 * 3600s));
    w.add(decade, at(10 * 365 * 24 * 3600s));
    while (auto next = w.next_expiry()) {
        c.advance_to(*next);
        w.advance(c.now());
    }
    REQUIRE(log.size() == 3);
    CHECK(log[0] == std::pair{1, at(3600s)});
    CHECK(log[1] == std::pair{2, at(365 * 24 * 3600s)});
    CHECK(log[2] == std::pair{3, at(10 * 365 * 24 * 3600s)});
}

TEST_CASE("a timer added in the past fires at the next advance", "[timer]") {
    virtual_clock c(at(1s));
    timer_wheel w(c.now());
    std::vector<std::pair<int, time_point>> log;
    recorded_timer::log = &log;
    recorded_timer::clk = &c;
    recorded_timer t;
    w.add(t, at(1ms));
    CHECK(w.advance(c.now()) == 1);
}

TEST_CASE("sleeping coroutines wake in deadline order on virtual time", "[timer][sleep]") {
    virtual_clock c;
    scheduler s({.time_source = &c});
    std::vector<std::pair<int, time_point>> woke;
    auto sleeper = [&](int id, duration d) -> task<void> {
        auto r = co_await sleep_for(d);
        REQUIRE(r);
        woke.push_back({id, c.now()});
    };
    task_scope scope;
    scope.spawn(sleeper(1, 30s));
    scope.spawn(sleeper(2, 10ms));
    scope.spawn(sleeper(3, 2h));
    s.run(scope.join());
    REQUIRE(woke.size() == 3);
    CHECK(woke[0] == std::pair{2, at(10ms)});
    CHECK(woke[1] == std::pair{1, at(30s)});
    CHECK(woke[2] == std::pair{3, at(2h)});
    CHECK(s.stats().time_jumps >= 3);
}

TEST_CASE("a sleep cancelled through its stop token ends with ECANCELED at once", "[timer][sleep][cancel]") {
    virtual_clock c;
    scheduler s({.time_source = &c});
    std::stop_source stop;
    int err = 0;
    auto sleeper = [&]() -> task<void> { err = (co_await sleep_for(1h)).error(); };
    auto canceller = [&]() -> task<void> {
        (void)co_await sleep_for(1s);
        stop.request_stop();
    };
    task_scope scope;
    scope.spawn(sleeper().with_stop_token(stop.get_token()));
    scope.spawn(canceller());
    s.run(scope.join());
    CHECK(err == ECANCELED);
    CHECK(c.now() == at(1s)); // the hour-long timer was disarmed: time did not jump to it
    CHECK(s.timers().empty());
}

TEST_CASE("a sleep on a real clock waits at least its duration", "[timer][sleep]") {
    scheduler s;
    auto start = s.now();
    s.run([]() -> task<void> { auto ok = co_await sleep_for(2ms); REQUIRE(ok); }());
    CHECK(s.now() - start >= 2ms);
}

TEST_CASE("running a task that can never finish reports a deadlock", "[scheduler]") {
    virtual_clock c;
    scheduler s({.time_source = &c});
    event never;
    auto waits_forever = [&]() -> task<void> { (void)co_await never.wait(); };
    CHECK_THROWS_AS(s.run(waits_forever()), deadlock_error);
}

TEST_CASE("the wheel counts armed timers through add, cancel, fire and destruction", "[timer]") {
    virtual_clock c;
    timer_wheel w(c.now());
    std::vector<std::pair<int, time_point>> log;
    recorded_timer::log = &log;
    recorded_timer::clk = &c;
    recorded_timer a, b;
    w.add(a, at(1ms));
    w.add(b, at(2ms));
    w.add(b, at(3ms)); // re-arming does not count twice
    CHECK(w.size() == 2);
    a.cancel();
    a.cancel();
    CHECK(w.size() == 1);
    {
        recorded_timer scoped;
        w.add(scoped, at(1s));
        CHECK(w.size() == 2);
    } // destroyed while armed: disarmed
    CHECK(w.size() == 1);
    c.advance_to(at(1h));
    CHECK(w.advance(c.now()) == 1);
    CHECK(w.empty());
    CHECK_FALSE(w.next_expiry());
}
