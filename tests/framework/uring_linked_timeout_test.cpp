// An operation bounded by a timeout in the kernel (operation::set_timeout: the operation's SQE
// linked to an IORING_OP_LINK_TIMEOUT): the kernel ends it when the time passes, it gives
// ETIME, and the coroutine resumes only once both CQEs have come back; an operation that
// completes first keeps its result; the pair stays whole through a full SQ and the FIFO.
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"
#include "tests/framework/uring_fixture.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

using namespace coronet;
using test::pipe_fds;
using world = test::uring_world;
using namespace std::chrono_literals;
namespace uring = coronet::uring;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

// What a timed reader saw when it resumed.
struct outcome {
    int error = -1; // 0: data
    std::string data;
    bool timed_out = false;
    std::size_t in_flight_at_resume = ~std::size_t{0};
};

task<void> timed_read(uring::uring_reactor& r, int fd, duration limit, outcome& o) {
    std::array<std::byte, 64> buf{};
    uring::read_op op(r, fd, buf, uring::current_position);
    op.set_timeout(limit);
    auto n = co_await uring::in_place{op};
    o.error = n ? 0 : n.error();
    if (n) o.data.assign(reinterpret_cast<const char*>(buf.data()), *n);
    o.timed_out = op.timed_out();
    o.in_flight_at_resume = r.in_flight();
}

} // namespace

TEST_CASE("a read whose linked timeout passes first ends with ETIME, after both CQEs",
          "[uring][linked_timeout]") {
    world w;
    pipe_fds p;
    outcome o;
    const auto submitted = w.reactor.stats().submitted;
    w.sched.run(timed_read(w.reactor, p.r, 5ms, o)); // nobody writes
    CHECK(o.error == ETIME);
    CHECK(o.timed_out);
    CHECK(o.in_flight_at_resume == 0); // the read's CQE and the timeout's both came back
    CHECK(w.reactor.stats().submitted - submitted == 2);
    // Nothing was consumed: the pipe still works.
    p.put("after");
    outcome next;
    w.sched.run(timed_read(w.reactor, p.r, 10s, next));
    CHECK(next.error == 0);
    CHECK(next.data == "after");
}

TEST_CASE("data before the linked timeout is delivered whole, and no CQE comes after",
          "[uring][linked_timeout]") {
    world w;
    pipe_fds p;
    outcome o;
    task_scope scope;
    scope.spawn(timed_read(w.reactor, p.r, 10s, o));
    w.sched.run_once(false);
    w.sched.run_once(false);
    REQUIRE(w.reactor.in_flight() == 2); // the read and its timeout, waiting in the kernel
    p.put("in time");
    w.sched.run(scope.join());
    CHECK(o.error == 0);
    CHECK(o.data == "in time");
    CHECK_FALSE(o.timed_out);
    CHECK(o.in_flight_at_resume == 0);
    const auto cqes = w.reactor.stats().cqes;
    (void)w.sched.run(uring::nop()); // a turn through the ring: nothing else arrives
    CHECK(w.reactor.stats().cqes == cqes + 1);
}

TEST_CASE("a read ready at once completes with its data, its linked timeout ended unfired",
          "[uring][linked_timeout]") {
    world w;
    pipe_fds p;
    p.put("ready");
    outcome o;
    w.sched.run(timed_read(w.reactor, p.r, 0ns, o)); // no time at all: it need not wait
    CHECK(o.error == 0);
    CHECK(o.data == "ready");
    CHECK_FALSE(o.timed_out);
    CHECK(o.in_flight_at_resume == 0);
}

TEST_CASE("a timed read cancelled by its coroutine's stop token gives ECANCELED, not ETIME",
          "[uring][linked_timeout][cancel]") {
    world w;
    pipe_fds p;
    outcome o;
    task_scope scope;
    std::stop_source stop;
    scope.spawn(timed_read(w.reactor, p.r, 10s, o).with_stop_token(stop.get_token()));
    w.sched.run_once(false);
    w.sched.run_once(false);
    REQUIRE(w.reactor.in_flight() == 2);
    stop.request_stop();
    w.sched.run(scope.join());
    CHECK(o.error == ECANCELED);
    CHECK_FALSE(o.timed_out);
    CHECK(o.in_flight_at_resume == 0); // read, timeout and the cancel: all came back
}

TEST_CASE("timed reads through a 4-entry SQ and a FIFO each keep their timeout linked",
          "[uring][linked_timeout][overflow]") {
    // An in-flight limit of 4: two pairs in the kernel at a time, the rest queued. A pair cut
    // in two by a submission would leave a read with no timeout (and this test waiting).
    world w({.sq_entries = 4, .cq_entries = 8});
    REQUIRE(w.reactor.max_in_flight() == 4);
    constexpr int readers = 24;
    std::vector<pipe_fds> pipes(readers);
    std::vector<outcome> outs(readers);
    task_scope scope;
    for (int i = 0; i < readers; ++i)
        scope.spawn(timed_read(w.reactor, pipes[i].r, 1ms, outs[i]));
    w.sched.run(scope.join());
    int expired = 0;
    for (const auto& o : outs)
        expired += o.error == ETIME && o.timed_out ? 1 : 0;
    CHECK(expired == readers);
    CHECK(w.reactor.stats().queued > 0);
    CHECK(w.reactor.in_flight() == 0);
}

TEST_CASE("a timed read cancelled while it waits in the FIFO never reaches the kernel",
          "[uring][linked_timeout][cancel]") {
    world w({.sq_entries = 2, .cq_entries = 4}); // room for one pair
    REQUIRE(w.reactor.max_in_flight() == 2);
    pipe_fds first, second;
    outcome a, b;
    task_scope scope;
    std::stop_source stop;
    scope.spawn(timed_read(w.reactor, first.r, 10s, a));
    scope.spawn(timed_read(w.reactor, second.r, 10s, b).with_stop_token(stop.get_token()));
    w.sched.run_once(false);
    w.sched.run_once(false);
    REQUIRE(w.reactor.waiting_for_room() == 1);
    const auto submitted = w.reactor.stats().submitted;
    stop.request_stop();
    first.put("x");
    w.sched.run(scope.join());
    CHECK(b.error == ECANCELED);
    CHECK(w.reactor.stats().submitted == submitted); // neither the read nor its timeout
    CHECK(a.data == "x");
}
