// when_all, when_any and task_scope: concurrency, cancellation of losers, exceptions.
#include "framework/coronet.hpp"
#include "tests/framework/lifetime_counter.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct sim {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    time_point at(duration d) const { return time_point{} + d; }
};

task<int> value_after(duration d, int v) {
    auto r = co_await sleep_for(d);
    if (!r) co_return -r.error(); // cancelled: report it as a negative errno
    co_return v;
}

task<void> throw_after(duration d) {
    (void)co_await sleep_for(d);
    throw std::runtime_error("child failed");
}

} // namespace

TEST_CASE("when_all runs tasks concurrently and returns every value", "[when_all]") {
    sim w;
    auto [a, b, c] = w.sched.run([]() -> task<std::tuple<int, std::monostate, int>> {
        co_return co_await when_all(value_after(30ms, 1), []() -> task<void> { co_return; }(), value_after(10ms, 3));
    }());
    CHECK(a == 1);
    CHECK(c == 3);
    CHECK(w.clock.now() == w.at(30ms)); // concurrent: the longest, not the sum
}

TEST_CASE("when_all of a vector keeps the order of its tasks", "[when_all]") {
    sim w;
    std::vector<task<int>> ts;
    for (int i = 0; i < 5; ++i) ts.push_back(value_after(std::chrono::milliseconds(50 - i * 10), i));
    auto values = w.sched.run(when_all(std::move(ts)));
    CHECK(values == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("when_all of tasks that complete at once does not suspend", "[when_all]") {
    sim w;
    auto instant = [](int v) -> task<int> { co_return v; };
    auto [x, y] = w.sched.run(when_all(instant(1), instant(2)));
    CHECK(x + y == 3);
    CHECK(w.sched.stats().resumed == 0);
}

TEST_CASE("when_all cancels the others when one throws, then rethrows", "[when_all][cancel]") {
    sim w;
    int slow_result = 0;
    auto slow = [&]() -> task<void> { slow_result = co_await value_after(1h, 7); };
    CHECK_THROWS_WITH(w.sched.run(when_all(throw_after(5ms), slow())), "child failed");
    CHECK(slow_result == -ECANCELED);
    CHECK(w.clock.now() == w.at(5ms));
}

TEST_CASE("when_any returns the first to finish and cancels and awaits the losers", "[when_any][cancel]") {
    sim w;
    std::vector<std::string> finished;
    auto racer = [&](std::string name, duration d) -> task<std::string> {
        auto r = co_await sleep_for(d);
        finished.push_back(name + (r ? " done" : " cancelled"));
        co_return name;
    };
    auto winner = w.sched.run(when_any(racer("slow", 1h), racer("fast", 1ms), racer("medium", 1s)));
    CHECK(winner.index() == 1);
    CHECK(std::get<1>(winner) == "fast");
    // Both losers ran to their end (cancelled) before when_any completed.
    REQUIRE(finished.size() == 3);
    CHECK(finished[0] == "fast done");
    std::sort(finished.begin() + 1, finished.end());
    CHECK(finished[1] == "medium cancelled");
    CHECK(finished[2] == "slow cancelled");
    CHECK(w.clock.now() == w.at(1ms));
    CHECK(w.sched.timers().empty());
}

TEST_CASE("when_any over a vector gives the winner's index and value", "[when_any]") {
    sim w;
    std::vector<task<int>> ts;
    ts.push_back(value_after(3s, 30));
    ts.push_back(value_after(2s, 20));
    ts.push_back(value_after(5s, 50));
    auto [index, value] = w.sched.run(when_any(std::move(ts)));
    CHECK(index == 1);
    CHECK(value == 20);
}

TEST_CASE("when_any rethrows when the first task to end threw", "[when_any]") {
    sim w;
    CHECK_THROWS_WITH(w.sched.run(when_any(value_after(1s, 1), [&]() -> task<int> {
                          co_await throw_after(1ms);
                          co_return 0;
                      }())),
                      "child failed");
}

TEST_CASE("cancelling the awaiting coroutine cancels when_all's children", "[when_all][cancel]") {
    sim w;
    std::stop_source stop;
    std::tuple<int, int> got{};
    task_scope scope;
    scope.spawn(as_task([&]() -> task<void> { got = co_await when_all(value_after(1h, 1), value_after(2h, 2)); })
                    .with_stop_token(stop.get_token()));
    scope.spawn([&]() -> task<void> {
        (void)co_await sleep_for(10s);
        stop.request_stop();
    });
    w.sched.run(scope.join());
    CHECK(got == std::tuple{-ECANCELED, -ECANCELED});
    CHECK(w.clock.now() == w.at(10s));
}

TEST_CASE("task_scope joins every spawned task, and request_stop cancels them", "[scope][cancel]") {
    sim w;
    task_scope scope;
    std::vector<int> results;
    for (int i = 0; i < 100; ++i)
        scope.spawn([&, i]() -> task<void> { results.push_back(co_await value_after(std::chrono::seconds(i), i)); });
    CHECK(scope.active() == 100);
    w.sched.run([&]() -> task<void> {
        (void)co_await sleep_for(std::chrono::milliseconds(49'500));
        scope.request_stop();
        co_await scope.join();
    }());
    REQUIRE(results.size() == 100);
    for (int i = 0; i < 50; ++i) CHECK(results[static_cast<std::size_t>(i)] == i);
    for (std::size_t i = 50; i < 100; ++i) CHECK(results[i] == -ECANCELED);
    CHECK(scope.active() == 0);
    CHECK(scope.spawned() == 100);
}

TEST_CASE("an exception in a spawned task is rethrown by join, the others go on", "[scope]") {
    sim w;
    task_scope scope;
    int survivor = 0;
    scope.spawn(throw_after(1ms));
    scope.spawn([&]() -> task<void> { survivor = co_await value_after(1s, 5); });
    CHECK_THROWS_WITH(w.sched.run(scope.join()), "child failed");
    CHECK(survivor == 5);
}

TEST_CASE("a scope with an error handler reports each exception to it", "[scope]") {
    sim w;
    int errors = 0;
    task_scope scope([&](std::exception_ptr) { ++errors; });
    scope.spawn(throw_after(1ms));
    scope.spawn(throw_after(2ms));
    w.sched.run(scope.join());
    CHECK(errors == 2);
}

TEST_CASE("combinators destroy every frame they create", "[scope][lifetime]") {
    lifetime_counter::reset();
    {
        sim w;
        task_scope scope;
        auto holder = [](lifetime_counter c, duration d) -> task<int> {
            (void)co_await sleep_for(d);
            co_return c.id;
        };
        scope.spawn([&]() -> task<void> {
            (void)co_await when_all(holder({}, 1ms), holder({}, 2ms));
            (void)co_await when_any(holder({}, 1ms), holder({}, 1h));
        });
        w.sched.run(scope.join());
    }
    CHECK(lifetime_counter::alive() == 0);
}
