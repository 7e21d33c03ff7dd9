// wake_relay: a function called once, from the ready queue, the next time a wait_queue wakes;
// and its teardown in every phase (waiting, woken but not yet run, failed), which under
// AddressSanitizer also shows that no waiting frame leaks.
#include "framework/coronet.hpp"
#include "framework/wake_relay.hpp"

#include <catch2/catch.hpp>
#include <memory>

using namespace coronet;

namespace {

struct sim {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
};

struct calls {
    int n = 0;
    static void count(void* self) { ++static_cast<calls*>(self)->n; }
};

} // namespace

TEST_CASE("wake_relay calls its function once per arming, from the ready queue", "[wake_relay]") {
    sim s;
    wait_queue q;
    calls c;
    wake_relay relay(q, &calls::count, &c);
    CHECK(q.wake_all() == 0); // not armed: the queue is empty
    relay.arm();
    relay.arm(); // arming an armed relay does nothing
    CHECK(relay.armed());
    CHECK(q.size() == 1);
    CHECK(q.wake_all() == 1);
    CHECK(c.n == 0); // not inside the waker
    s.sched.run_until_idle();
    CHECK(c.n == 1);
    CHECK_FALSE(relay.armed());
    CHECK(relay.fired() == 1);
    CHECK(q.wake_all() == 0); // one-shot
    relay.arm();
    q.wake_one();
    s.sched.run_until_idle();
    CHECK(c.n == 2);
}

TEST_CASE("wake_relay: a failed wait disarms without calling", "[wake_relay]") {
    sim s;
    wait_queue q;
    calls c;
    wake_relay relay(q, &calls::count, &c);
    relay.arm();
    CHECK(q.fail_all(EBADF) == 1);
    s.sched.run_until_idle();
    CHECK(c.n == 0);
    CHECK_FALSE(relay.armed());
}

TEST_CASE("wake_relay destroyed while waiting, or woken but not yet run: no call, no leak",
          "[wake_relay]") {
    sim s;
    wait_queue q;
    calls c;
    SECTION("waiting") {
        auto relay = std::make_unique<wake_relay>(q, &calls::count, &c);
        relay->arm();
        relay.reset();
        CHECK(q.empty());
    }
    SECTION("woken, in the ready queue") {
        auto relay = std::make_unique<wake_relay>(q, &calls::count, &c);
        relay->arm();
        CHECK(q.wake_all() == 1);
        relay.reset(); // its frame is taken out of the ready queue and destroyed
    }
    SECTION("woken, and the scheduler stops before running it") {
        auto other = std::make_unique<sim>();
        auto relay = std::make_unique<wake_relay>(q, &calls::count, &c);
        relay->arm();
        CHECK(q.wake_all() == 1);
        relay.reset();
        other.reset();
    }
    s.sched.run_until_idle();
    CHECK(c.n == 0);
}
