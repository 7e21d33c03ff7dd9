// Cancelling io_uring operations: a cancelled coroutine resumes only once the kernel has
// let go of its buffer, nothing read is lost, and a cancel that loses the race to the
// completion hands back the real result.
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"
#include "tests/framework/uring_fixture.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

using namespace coronet;
using test::pipe_fds;
using world = test::uring_world;
namespace uring = coronet::uring;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

std::string text(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// What a cancelled reader saw when it resumed.
struct outcome {
    int error = -1;
    std::string data;
    std::size_t in_flight_at_resume = ~std::size_t{0};
};

// Two turns: the first starts the spawned coroutines, whose SQEs the second submits.
void settle(scheduler& s) {
    s.run_once(false);
    s.run_once(false);
}

template <class F>
std::stop_source spawn_cancellable(task_scope& scope, F coroutine_lambda) {
    std::stop_source stop;
    scope.spawn(as_task(std::move(coroutine_lambda)).with_stop_token(stop.get_token()));
    return stop;
}

} // namespace

TEST_CASE("a cancelled pipe read resumes with ECANCELED after the kernel let go, and loses nothing",
          "[uring][cancel]") {
    world w;
    pipe_fds p;
    outcome o;
    task_scope scope;
    auto stop = spawn_cancellable(scope, [&]() -> task<void> {
        std::array<std::byte, 16> buf{};
        auto rd = co_await uring::read(p.r, buf);
        o.error = rd.error();
        o.in_flight_at_resume = w.reactor.in_flight();
    });
    settle(w.sched);
    REQUIRE(w.reactor.in_flight() == 1);
    REQUIRE(io_uring_sq_ready(&w.reactor.ring()) == 0);
    stop.request_stop();
    // The stop callback only asked the kernel: the reader has not resumed yet.
    CHECK(o.error == -1);
    w.sched.run(scope.join());
    CHECK(o.error == ECANCELED);
    CHECK(o.in_flight_at_resume == 0); // the read and the cancel both completed first
    CHECK(w.reactor.stats().submitted == 2);

    p.put("after");
    auto got = w.sched.run([&]() -> task<std::string> {
        std::array<std::byte, 16> buf{};
        auto rd = co_await uring::read(p.r, buf);
        co_return text(std::span(buf).first(rd.value()));
    }());
    CHECK(got == "after");
}

TEST_CASE("a cancel that loses the race to the completion returns the real result", "[uring][cancel]") {
    world w;
    pipe_fds p;
    outcome o;
    task_scope scope;
    auto stop = spawn_cancellable(scope, [&]() -> task<void> {
        std::array<std::byte, 16> buf{};
        auto rd = co_await uring::read(p.r, buf);
        o.error = rd.error();
        if (rd) o.data = text(std::span(buf).first(*rd));
        o.in_flight_at_resume = w.reactor.in_flight();
    });
    settle(w.sched);
    REQUIRE(w.reactor.in_flight() == 1);
    REQUIRE(io_uring_sq_ready(&w.reactor.ring()) == 0);
    // The data arrives and the kernel posts the read's CQE, but the reactor has not reaped
    // it when the stop request comes: the cancel finds nothing left to cancel.
    p.put("won");
    io_uring_get_events(&w.reactor.ring());
    REQUIRE(io_uring_cq_ready(&w.reactor.ring()) == 1);
    stop.request_stop();
    w.sched.run(scope.join());
    CHECK(o.error == 0);
    CHECK(o.data == "won");
    CHECK(o.in_flight_at_resume == 0);
}

TEST_CASE("a stop requested before the await never reaches the kernel", "[uring][cancel]") {
    world w;
    std::stop_source stop;
    stop.request_stop();
    auto err = w.sched.run(as_task([&]() -> task<int> {
                               auto r = co_await uring::nop();
                               co_return r.error();
                           }).with_stop_token(stop.get_token()));
    CHECK(err == ECANCELED);
    CHECK(w.reactor.stats().submitted == 0);
}

TEST_CASE("cancel(target) ends another coroutine's operation", "[uring][cancel]") {
    world w;
    pipe_fds p;
    int reader_error = -1;
    int cancel_error = -1;
    int missing_error = -1;
    std::array<std::byte, 8> buf{};
    uring::read_op op{w.reactor, p.r, buf, uring::current_position};
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        auto rd = co_await uring::in_place{op};
        reader_error = rd.error();
    });
    settle(w.sched);
    scope.spawn([&]() -> task<void> {
        auto c = co_await uring::cancel(op);
        cancel_error = c.error();
    });
    w.sched.run(scope.join());
    CHECK(reader_error == ECANCELED);
    CHECK(cancel_error == 0);

    missing_error = w.sched.run([&]() -> task<int> {
        auto c = co_await uring::cancel(op); // nothing in flight under that name any more
        co_return c.error();
    }());
    CHECK(missing_error == ENOENT);
}

TEST_CASE("cancelling a request still waiting for room withdraws it without the kernel", "[uring][cancel]") {
    world w({.sq_entries = 4, .cq_entries = 8}); // room for 4 ordinary requests
    pipe_fds p;
    REQUIRE(w.reactor.max_in_flight() == 4);
    std::vector<int> errors;
    task_scope scope;
    std::vector<std::stop_source> stops;
    for (int i = 0; i < 6; ++i)
        stops.push_back(spawn_cancellable(scope, [&]() -> task<void> {
            std::array<std::byte, 1> buf{};
            auto rd = co_await uring::read(p.r, buf);
            errors.push_back(rd.error());
        }));
    w.sched.run_once(false);
    REQUIRE(w.reactor.in_flight() == 4);
    REQUIRE(w.reactor.waiting_for_room() == 2);
    auto submitted = w.reactor.stats().submitted;
    stops[5].request_stop(); // queued: never seen by the kernel
    CHECK(w.reactor.waiting_for_room() == 1);
    w.sched.run_once(false);
    CHECK(errors == std::vector<int>{ECANCELED});
    CHECK(w.reactor.stats().submitted == submitted);

    // The reads in flight hold every ordinary slot; their cancels use the reserve.
    for (int i = 0; i < 5; ++i) stops[static_cast<std::size_t>(i)].request_stop();
    w.sched.run(scope.join());
    CHECK(errors.size() == 6);
    CHECK(w.reactor.in_flight() == 0);
    CHECK(w.reactor.waiting_for_room() == 0);
}
