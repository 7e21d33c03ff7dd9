// task<T>: laziness, values, exceptions, symmetric transfer, frame lifetimes.
#include "framework/coronet.hpp"
#include "tests/framework/lifetime_counter.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

using namespace coronet;

namespace {

task<int> answer() { co_return 42; }
task<int> add(int a, int b) { co_return a + b; }
task<void> throws_logic_error() {
    throw std::logic_error("boom");
    co_return;
}
task<int> sum_of_million() {
    int total = 0;
    for (int i = 0; i < 1'000'000; ++i) total += co_await add(i & 1, 0);
    co_return total;
}

} // namespace

TEST_CASE("a task does not run until it is awaited", "[task]") {
    bool ran = false;
    auto t = as_task([&]() -> task<void> {
        ran = true;
        co_return;
    });
    CHECK_FALSE(ran);
    scheduler s;
    s.run(std::move(t));
    CHECK(ran);
}

TEST_CASE("a task returns its value to the awaiter", "[task]") {
    scheduler s;
    CHECK(s.run(answer()) == 42);
    auto outer = []() -> task<std::string> {
        int v = co_await answer();
        co_return std::to_string(v + 1);
    };
    CHECK(s.run(outer()) == "43");
}

TEST_CASE("a task can return a reference", "[task]") {
    scheduler s;
    int x = 7;
    auto ref = [&]() -> task<int&> { co_return x; };
    int& r = s.run([&]() -> task<int&> { co_return co_await ref(); }());
    CHECK(&r == &x);
}

TEST_CASE("an exception thrown in a task reaches the awaiting coroutine", "[task]") {
    scheduler s;
    auto outer = []() -> task<std::string> {
        try {
            co_await throws_logic_error();
        } catch (const std::logic_error& e) {
            co_return std::string("caught ") + e.what();
        }
        co_return "not caught";
    };
    CHECK(s.run(outer()) == "caught boom");
    CHECK_THROWS_AS(s.run(throws_logic_error()), std::logic_error);
}

TEST_CASE("a million synchronously completing awaits run without stack growth", "[task]") {
    // With a recursive resume chain this overflows an 8 MiB stack long before the end.
    scheduler s;
    CHECK(s.run(sum_of_million()) == 500'000);
}

TEST_CASE("destroying a task that never started destroys its frame and arguments", "[task]") {
    lifetime_counter::reset();
    {
        auto t = [](lifetime_counter c) -> task<int> { co_return c.id; }(lifetime_counter{});
        CHECK(lifetime_counter::alive() >= 1);
    }
    CHECK(lifetime_counter::alive() == 0);
    CHECK(lifetime_counter::constructed() == lifetime_counter::destroyed());
}

TEST_CASE("a completed task destroys its locals exactly once", "[task]") {
    lifetime_counter::reset();
    scheduler s;
    auto t = []() -> task<int> {
        lifetime_counter a, b;
        co_return a.id + b.id - a.id - b.id;
    };
    CHECK(s.run(t()) == 0);
    CHECK(lifetime_counter::alive() == 0);
    CHECK(lifetime_counter::constructed() == lifetime_counter::destroyed());
}

TEST_CASE("a moved-from task is empty and a moved-to task runs", "[task]") {
    scheduler s;
    auto a = answer();
    auto b = std::move(a);
    CHECK_FALSE(a.valid());
    CHECK(b.valid());
    CHECK(s.run(std::move(b)) == 42);
}

TEST_CASE("awaiting an empty or moved-from task throws logic_error, not a null dereference",
          "[task]") {
    scheduler s;
    CHECK_THROWS_WITH(s.run(task<int>{}), Catch::Contains("empty task"));
    auto a = answer();
    auto b = std::move(a);
    // Inside a coroutine the error reaches the awaiter like any exception, and the
    // moved-to task still runs.
    auto outer = [&]() -> task<int> {
        bool threw = false;
        try {
            co_await std::move(a);
        } catch (const std::logic_error&) {
            threw = true;
        }
        co_return threw ? co_await std::move(b) : -1;
    };
    CHECK(s.run(outer()) == 42);
    auto released = answer();
    auto frame = released.release();
    CHECK_THROWS_AS(s.run(std::move(released)), std::logic_error);
    frame.destroy();
}

TEST_CASE("a task awaited a second time throws logic_error", "[task]") {
    scheduler s;
    SECTION("after it gave its value") {
        auto t = answer();
        auto twice = [&]() -> task<int> {
            int first = co_await t;
            int second = co_await t; // the value was moved out already
            co_return first + second;
        };
        CHECK_THROWS_WITH(s.run(twice()), Catch::Contains("awaited twice"));
    }
    SECTION("while it still runs for its first awaiter") {
        event go;
        auto slow = [&]() -> task<int> {
            (void)co_await go.wait();
            co_return 1;
        }();
        std::string second_error;
        auto first = [&]() -> task<void> { (void)co_await slow; };
        auto second = [&]() -> task<void> {
            try {
                (void)co_await slow;
            } catch (const std::logic_error& e) {
                second_error = e.what();
            }
            go.set();
        };
        s.run([&]() -> task<void> { (void)co_await when_all(as_task(first), as_task(second)); }());
        CHECK_THAT(second_error, Catch::Contains("still running"));
    }
}

TEST_CASE("yield lets other ready coroutines run in FIFO order", "[task][scheduler]") {
    scheduler s;
    std::string trace;
    task_scope scope;
    auto worker = [&](char name) -> task<void> {
        for (int i = 0; i < 3; ++i) {
            trace += name;
            co_await yield{};
        }
    };
    scope.spawn(worker('a'));
    scope.spawn(worker('b'));
    s.run(scope.join());
    CHECK(trace == "ababab");
}

TEST_CASE("sync_wait runs a task from ordinary code, on a scheduler of its own or the thread's", "[task][sync_wait]") {
    CHECK(scheduler::current_or_null() == nullptr);
    CHECK(sync_wait(answer()) == 42); // makes a temporary scheduler
    CHECK(scheduler::current_or_null() == nullptr);
    CHECK_THROWS_AS(sync_wait(throws_logic_error()), std::logic_error);
    virtual_clock c;
    scheduler s({.time_source = &c});
    auto slept = sync_wait([]() -> task<time_point> {
        (void)co_await sleep_for(std::chrono::hours(1));
        co_return scheduler::current().now();
    }());
    CHECK(slept == time_point{} + std::chrono::hours(1)); // ran on s, on virtual time
}
