// The sleep/wake-up primitives: wait queues, events, semaphores, and their cancellation.
#include "framework/coronet.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace coronet;
// Note: Catch2 macros must not contain co_await (an assertion in flight across a
// suspension confuses Catch): await first, then assert on the value.
using namespace std::chrono_literals;

namespace {

struct sim {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
};

// Spawns t with its own stop source, returned so the test can cancel it.
template <class F>
std::stop_source spawn_cancellable(task_scope& scope, F coroutine_lambda) {
    std::stop_source stop;
    scope.spawn(as_task(std::move(coroutine_lambda)).with_stop_token(stop.get_token()));
    return stop;
}

} // namespace

TEST_CASE("wait_queue wakes waiters one at a time in FIFO order", "[wait_queue]") {
    sim w;
    wait_queue q;
    std::string order;
    auto sleeper = [&](char c) -> task<void> {
        { auto ok = co_await q.wait(); REQUIRE(ok); }
        order += c;
    };
    task_scope scope;
    for (char c : std::string("abc")) scope.spawn(sleeper(c));
    w.sched.run_until_idle();
    CHECK(q.size() == 3);
    CHECK(q.wake_one());
    w.sched.run_until_idle();
    CHECK(order == "a");
    CHECK(q.wake_all() == 2);
    w.sched.run(scope.join());
    CHECK(order == "abc");
    CHECK_FALSE(q.wake_one());
}

TEST_CASE("fail_all ends every wait with the given error", "[wait_queue]") {
    sim w;
    wait_queue q;
    std::vector<int> errors;
    task_scope scope;
    for (int i = 0; i < 2; ++i) scope.spawn([&]() -> task<void> { errors.push_back((co_await q.wait()).error()); });
    w.sched.run_until_idle();
    CHECK(q.fail_all(EBADF) == 2);
    w.sched.run(scope.join());
    CHECK(errors == std::vector<int>{EBADF, EBADF});
}

TEST_CASE("a cancelled wait leaves the queue and a later wake goes to the next waiter", "[wait_queue][cancel]") {
    sim w;
    wait_queue q;
    std::vector<std::string> log;
    task_scope scope;
    auto stop_a = spawn_cancellable(scope, [&]() -> task<void> {
        auto r = co_await q.wait();
        log.push_back(r ? "a woke" : "a " + r.message());
    });
    scope.spawn([&]() -> task<void> {
        { auto ok = co_await q.wait(); REQUIRE(ok); }
        log.push_back("b woke");
    });
    w.sched.run_until_idle();
    stop_a.request_stop();
    CHECK(q.size() == 1);
    q.wake_one();
    w.sched.run(scope.join());
    CHECK(log == std::vector<std::string>{"a " + error_message(ECANCELED), "b woke"});
}

TEST_CASE("a wait whose token is already stopped does not sleep", "[wait_queue][cancel]") {
    sim w;
    wait_queue q;
    std::stop_source stop;
    stop.request_stop();
    int err = 0;
    task_scope scope;
    scope.spawn(as_task([&]() -> task<void> { err = (co_await q.wait()).error(); }).with_stop_token(stop.get_token()));
    w.sched.run(scope.join());
    CHECK(err == ECANCELED);
    CHECK(q.empty());
}

TEST_CASE("a manual-reset event wakes all waiters and stays set until reset", "[event]") {
    sim w;
    event e;
    int woke = 0;
    task_scope scope;
    for (int i = 0; i < 3; ++i)
        scope.spawn([&]() -> task<void> {
            { auto ok = co_await e.wait(); REQUIRE(ok); }
            ++woke;
        });
    w.sched.run_until_idle();
    CHECK(woke == 0);
    e.set();
    w.sched.run(scope.join());
    CHECK(woke == 3);
    CHECK(e.is_set());
    w.sched.run([&]() -> task<void> { auto ok = co_await e.wait(); REQUIRE(ok); }()); // no wait when set
    e.reset();
    CHECK_FALSE(e.is_set());
}

TEST_CASE("an auto-reset event releases exactly one waiter per set", "[event]") {
    sim w;
    event e(event::reset_mode::automatic);
    int woke = 0;
    task_scope scope;
    for (int i = 0; i < 3; ++i)
        scope.spawn([&]() -> task<void> {
            { auto ok = co_await e.wait(); REQUIRE(ok); }
            ++woke;
        });
    w.sched.run_until_idle();
    e.set();
    w.sched.run_until_idle();
    CHECK(woke == 1);
    CHECK_FALSE(e.is_set()); // consumed by the waiter it woke
    e.set();
    e.set();
    w.sched.run(scope.join());
    CHECK(woke == 3);
    e.set(); // nobody waits: stays set for the next one, once
    CHECK(e.is_set());
    w.sched.run([&]() -> task<void> { auto ok = co_await e.wait(); REQUIRE(ok); }());
    CHECK_FALSE(e.is_set());
}

TEST_CASE("a semaphore hands units to waiters in FIFO order", "[semaphore]") {
    sim w;
    semaphore sem(1);
    std::string order;
    auto user = [&](char c) -> task<void> {
        { auto ok = co_await sem.acquire(); REQUIRE(ok); }
        order += c;
        (void)co_await sleep_for(1ms);
        order += static_cast<char>(c - 'a' + 'A');
        sem.release();
    };
    task_scope scope;
    for (char c : std::string("abc")) scope.spawn(user(c));
    w.sched.run(scope.join());
    CHECK(order == "aAbBcC");
    CHECK(sem.available() == 1);
    CHECK(w.clock.now() == time_point{} + 3ms);
}

TEST_CASE("a cancelled semaphore wait takes no unit", "[semaphore][cancel]") {
    sim w;
    semaphore sem(0);
    int err = -1;
    task_scope scope;
    auto stop = spawn_cancellable(scope, [&]() -> task<void> { err = (co_await sem.acquire()).error(); });
    w.sched.run_until_idle();
    stop.request_stop();
    w.sched.run(scope.join());
    CHECK(err == ECANCELED);
    sem.release();
    CHECK(sem.available() == 1);
    CHECK(sem.try_acquire());
    CHECK_FALSE(sem.try_acquire());
}
