// with_timeout and with_deadline: the deadline cancels and awaits the operation, a result
// that arrived in time is kept, nesting and outer cancellation keep their own errors.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"
#include "tests/framework/lifetime_counter.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

using namespace coronet;
using namespace std::chrono_literals;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

struct sim {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    time_point at(duration d) const { return time_point{} + d; }
};

// Sleeps `d` and gives `v`, or the sleep's error (ECANCELED when stopped). `ended`, when
// given, is set once the task has run to its end.
task<result<int>> value_after(duration d, int v, bool* ended = nullptr) {
    auto r = co_await sleep_for(d);
    if (ended != nullptr) *ended = true;
    if (!r) co_return error{r.error()};
    co_return v;
}

} // namespace

TEST_CASE("with_timeout: the deadline cancels the operation and gives ETIMEDOUT", "[timeout]") {
    sim w;
    bool ended = false;
    auto r = w.sched.run([&]() -> task<result<int>> {
        auto v = co_await with_timeout(10ms, value_after(1h, 7, &ended));
        CHECK(ended); // the operation had ended before the combinator returned
        co_return v;
    }());
    CHECK(r.error() == ETIMEDOUT);
    CHECK(w.clock.now() == w.at(10ms));
    CHECK(w.sched.timers().empty());
}

TEST_CASE("with_timeout: an operation done in time gives its value and disarms the deadline", "[timeout]") {
    sim w;
    auto r = w.sched.run([&]() -> task<result<int>> { co_return co_await with_timeout(10ms, value_after(4ms, 7)); }());
    CHECK(r.value() == 7);
    CHECK(w.clock.now() == w.at(4ms));
    CHECK(w.sched.timers().empty()); // the deadline's timer went with the operation
    w.sched.run_until_idle();
    CHECK(w.clock.now() == w.at(4ms)); // nothing left to jump to
}

TEST_CASE("with_deadline: an operation that completes exactly at the deadline keeps its value", "[timeout]") {
    sim w;
    auto r = w.sched.run([&]() -> task<result<int>> { co_return co_await with_deadline(w.at(10ms), value_after(10ms, 7)); }());
    CHECK(r.value() == 7);
    CHECK(w.clock.now() == w.at(10ms));

    // The same when the operation's timer was armed after the deadline's.
    sim v;
    auto late = v.sched.run([&]() -> task<result<int>> {
        co_return co_await with_deadline(v.at(10ms), [&]() -> task<result<int>> {
            (void)co_await sleep_for(3ms);
            co_return co_await value_after(7ms, 8);
        });
    }());
    CHECK(late.value() == 8);
}

TEST_CASE("with_timeout: an operation complete before it is awaited arms no timer", "[timeout]") {
    sim w;
    int timers_during = -1;
    auto r = w.sched.run([&]() -> task<result<int>> {
        auto v = co_await with_timeout(1s, []() -> task<result<int>> { co_return 5; });
        timers_during = static_cast<int>(w.sched.timers().size());
        co_return v;
    }());
    CHECK(r.value() == 5);
    CHECK(timers_during == 0);
    CHECK(w.clock.now() == w.at(0s));
    CHECK(w.sched.stats().timers_fired == 0);
}

TEST_CASE("with_timeout: a deadline that came while the operation's own wake-up waited to run keeps the value",
          "[timeout]") {
    // The operation waits on an event that a timer callback sets at 10 ms, in the same turn
    // as the deadline's timer: its wait is complete when the deadline acts, and a stop
    // request then changes nothing.
    sim w;
    event e;
    struct setter : timer_entry {
        event* ev;
        explicit setter(event* x) : timer_entry(&fire), ev(x) {}
        static void fire(timer_entry* t) { static_cast<setter*>(t)->ev->set(); }
    } set_at_10ms(&e);
    w.sched.timers().add(set_at_10ms, w.at(10ms));
    auto r = w.sched.run([&]() -> task<result<>> {
        co_return co_await with_deadline(w.at(10ms), [&]() -> task<result<>> { co_return co_await e.wait(); });
    }());
    CHECK(r.has_value());
    CHECK(w.clock.now() == w.at(10ms));
}

TEST_CASE("with_timeout: nested deadlines each report their own expiry", "[timeout]") {
    sim w;
    // The outer deadline comes first: the inner combinator's operation is cancelled
    // through it, and the outer one says ETIMEDOUT.
    auto outer_first = w.sched.run([&]() -> task<result<int>> {
        co_return co_await with_timeout(1s, with_timeout(2s, value_after(1h, 1)));
    }());
    CHECK(outer_first.error() == ETIMEDOUT);
    CHECK(w.clock.now() == w.at(1s));
    CHECK(w.sched.timers().empty());

    // The inner deadline comes first: its ETIMEDOUT passes through the outer one.
    bool after_inner = false;
    auto inner_first = w.sched.run([&]() -> task<result<int>> {
        co_return co_await with_timeout(2s, [&]() -> task<result<int>> {
            auto r = co_await with_timeout(1s, value_after(1h, 1));
            after_inner = true;
            co_return r;
        });
    }());
    CHECK(inner_first.error() == ETIMEDOUT);
    CHECK(after_inner);
    CHECK(w.clock.now() == w.at(2s)); // 1 s later than before
    CHECK(w.sched.timers().empty());
}

TEST_CASE("with_timeout: cancelling the awaiting coroutine gives ECANCELED, not ETIMEDOUT", "[timeout][cancel]") {
    sim w;
    std::stop_source stop;
    result<int> got = 0;
    task_scope scope;
    scope.spawn(as_task([&]() -> task<void> { got = co_await with_timeout(1h, value_after(2h, 1)); })
                    .with_stop_token(stop.get_token()));
    scope.spawn([&]() -> task<void> {
        (void)co_await sleep_for(5s);
        stop.request_stop();
    });
    w.sched.run(scope.join());
    CHECK(got.error() == ECANCELED);
    CHECK(w.clock.now() == w.at(5s));
    CHECK(w.sched.timers().empty());
}

TEST_CASE("with_timeout: a plain value or void becomes a result", "[timeout]") {
    sim w;
    auto plain = [](duration d) -> task<int> {
        (void)co_await sleep_for(d);
        co_return 3;
    };
    auto in_time = w.sched.run([&]() -> task<result<int>> { co_return co_await with_timeout(2s, plain(1s)); }());
    CHECK(in_time.value() == 3);
    auto late = w.sched.run([&]() -> task<result<int>> { co_return co_await with_timeout(2s, plain(1h)); }());
    CHECK(late.error() == ETIMEDOUT); // the 3 it gave after the stop request is dropped
    auto nothing = w.sched.run([&]() -> task<result<>> {
        co_return co_await with_timeout(1s, [&]() -> task<void> { (void)co_await sleep_for(1h); });
    }());
    CHECK(nothing.error() == ETIMEDOUT);
    // A movable awaitable: a system call that never waits.
    auto p = process::create("p");
    auto nop = w.sched.run([&]() -> task<result<>> { co_return co_await with_timeout(1s, p->nop()); }());
    CHECK(nop.has_value());
}

TEST_CASE("with_timeout: the deadline's error can be chosen, told from the operation's own", "[timeout]") {
    sim w;
    auto expired = w.sched.run([&]() -> task<result<int>> { co_return co_await with_timeout(1s, value_after(1h, 1), EAGAIN); }());
    CHECK(expired.error() == EAGAIN);
    auto own = w.sched.run([&]() -> task<result<int>> {
        co_return co_await with_timeout(1h, []() -> task<result<int>> { co_return error{ETIMEDOUT}; }, EAGAIN);
    }());
    CHECK(own.error() == ETIMEDOUT); // the operation's, passed through
}

TEST_CASE("with_timeout: an exception from the operation is rethrown", "[timeout]") {
    sim w;
    CHECK_THROWS_WITH(w.sched.run([&]() -> task<result<int>> {
        co_return co_await with_timeout(1s, []() -> task<result<int>> {
            (void)co_await sleep_for(1ms);
            throw std::runtime_error("operation failed");
        });
    }()),
                      "operation failed");
    CHECK(w.sched.timers().empty());
}

TEST_CASE("with_deadline: a deadline already past stops an operation that would wait", "[timeout]") {
    sim w;
    w.clock.advance(1s);
    auto waits = w.sched.run([&]() -> task<result<int>> { co_return co_await with_deadline(w.at(0s), value_after(1ms, 1)); }());
    CHECK(waits.error() == ETIMEDOUT);
    CHECK(w.clock.now() == w.at(1s)); // stopped on the next turn, no time passed
    auto ready = w.sched.run([&]() -> task<result<int>> {
        co_return co_await with_deadline(w.at(0s), []() -> task<result<int>> { co_return 2; });
    }());
    CHECK(ready.value() == 2);
}

TEST_CASE("with_timeout: the operation's frame and what it holds are gone before it returns", "[timeout]") {
    sim w;
    lifetime_counter::reset();
    std::size_t alive_after = 99;
    auto r = w.sched.run([&]() -> task<result<int>> {
        auto v = co_await with_timeout(1s, [](lifetime_counter held) -> task<result<int>> {
            (void)held;
            co_return co_await value_after(1h, 1);
        }(lifetime_counter{}));
        alive_after = lifetime_counter::alive();
        co_return v;
    }());
    CHECK(r.error() == ETIMEDOUT);
    CHECK(alive_after == 0);
    CHECK(lifetime_counter::constructed() > 0);
}

TEST_CASE("with_timeout on the real reactor: a pipe read is cancelled and loses nothing", "[timeout][uring]") {
    scheduler sched; // the real clock
    uring::uring_reactor reactor{sched};
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    std::array<std::byte, 16> buf{};
    std::size_t in_flight_after = 99;
    auto r = sched.run([&]() -> task<result<std::size_t>> {
        auto v = co_await with_timeout(20ms, [&]() -> task<result<std::size_t>> { co_return co_await uring::read(fds[0], buf); });
        in_flight_after = reactor.in_flight(); // the read and its cancel both completed
        co_return v;
    }());
    CHECK(r.error() == ETIMEDOUT);
    CHECK(in_flight_after == 0);

    // Bytes written after the timeout go to the next read, not to the cancelled one's buffer.
    REQUIRE(::write(fds[1], "late", 4) == 4);
    auto next = sched.run([&]() -> task<result<std::size_t>> {
        co_return co_await with_timeout(10s, [&]() -> task<result<std::size_t>> { co_return co_await uring::read(fds[0], buf); });
    }());
    REQUIRE(next.value() == 4);
    CHECK(std::string(reinterpret_cast<const char*>(buf.data()), 4) == "late");
    ::close(fds[0]);
    ::close(fds[1]);
}
