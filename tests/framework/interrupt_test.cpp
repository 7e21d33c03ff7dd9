// Interrupt lines, their top halves, DPCs with a budget, and kernel coroutines on a line.
#include "framework/coronet.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace coronet;

namespace {

// A pretend NIC: frames arrive in a counter, its ISR queues its DPC, and the DPC
// "receives" up to its budget per call, as a NAPI poll routine would.
struct fake_nic : dpc {
    fake_nic() : dpc(&poll_routine) {}
    dpc& poll = *this;
    unsigned line = 0;
    int waiting_frames = 0;
    int received = 0;
    std::vector<unsigned> budgets_seen;
    std::string* trace = nullptr;

    static bool poll_routine(dpc* d, unsigned budget) {
        auto* self = static_cast<fake_nic*>(d);
        self->budgets_seen.push_back(budget);
        unsigned n = 0;
        while (self->waiting_frames > 0 && n < budget) {
            --self->waiting_frames;
            ++self->received;
            ++n;
        }
        if (self->trace) *self->trace += "D";
        return self->waiting_frames > 0; // more work: poll again next turn
    }
};

} // namespace

TEST_CASE("lines are numbered in order and keep their names", "[interrupt]") {
    scheduler s;
    auto& ic = s.interrupts();
    auto a = ic.allocate("nic0");
    auto b = ic.allocate("nic1");
    CHECK(a == 0);
    CHECK(b == 1);
    CHECK(ic.name(b) == "nic1");
    CHECK(ic.size() == 2);
}

TEST_CASE("raising a line runs its service routine at once, and counts", "[interrupt]") {
    scheduler s;
    auto& ic = s.interrupts();
    auto line = ic.allocate("timer");
    std::vector<unsigned> calls;
    int context = 7;
    auto isr = [](void* ctx, unsigned l) {
        auto* c = static_cast<std::pair<std::vector<unsigned>*, int*>*>(ctx);
        c->first->push_back(l + static_cast<unsigned>(*c->second));
    };
    std::pair<std::vector<unsigned>*, int*> ctx{&calls, &context};
    REQUIRE(ic.connect(line, isr, &ctx));
    CHECK(ic.connect(line, isr, &ctx).error() == EBUSY);
    CHECK(ic.connect(99, isr, &ctx).error() == EINVAL);
    ic.raise(line);
    ic.raise(line);
    CHECK(calls == std::vector<unsigned>{7, 7});
    CHECK(ic.count(line) == 2);
    ic.disconnect(line);
    ic.raise(line);
    CHECK(ic.spurious(line) == 1);
    CHECK(calls.size() == 2);
}

TEST_CASE("an interrupt queues the DPC, which runs with a budget before user work", "[interrupt][dpc]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk, .dpc_budget = 4});
    fake_nic nic;
    std::string trace;
    nic.trace = &trace;
    nic.line = s.interrupts().allocate("nic");
    REQUIRE(s.interrupts().connect_dpc(nic.line, nic.poll));

    task_scope scope;
    scope.spawn([&]() -> task<void> {
        for (int i = 0; i < 3; ++i) {
            trace += "U";
            co_await yield{};
        }
    });
    nic.waiting_frames = 10;
    s.interrupts().raise(nic.line);
    s.interrupts().raise(nic.line); // a second raise while queued does not queue it twice
    CHECK(nic.poll.queued());
    s.run(scope.join());

    CHECK(nic.received == 10);
    CHECK(nic.budgets_seen == std::vector<unsigned>{4, 4, 4});
    // The DPC ran first, then once per loop turn interleaved with the user coroutine.
    CHECK(trace.substr(0, 2) == "DU");
    CHECK(trace.find("DUDUD") != std::string::npos);
    CHECK(s.stats().dpcs_run == 3);
}

TEST_CASE("a kernel coroutine can wait on a line", "[interrupt]") {
    virtual_clock clk;
    scheduler s({.time_source = &clk});
    auto line = s.interrupts().allocate("doorbell");
    int rung = 0;
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        for (int i = 0; i < 2; ++i) {
            auto r = co_await s.interrupts().wait(line);
            if (r) ++rung;
        }
    });
    s.run_until_idle();
    CHECK(rung == 0);
    s.interrupts().raise(line);
    s.run_until_idle();
    CHECK(rung == 1);
    s.interrupts().raise(line);
    s.run(scope.join());
    CHECK(rung == 2);
}
