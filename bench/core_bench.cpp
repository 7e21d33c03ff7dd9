// Micro benchmarks of the kernel core: coroutine creation, scheduling, system-call
// dispatch and timers. Run: build/release/bench/bench_core
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"

#include <benchmark/benchmark.h>

using namespace coronet;

namespace {

task<int> leaf(int v) { co_return v; }

// Create a task, await it (it completes at once), destroy its frame.
void BM_task_create_await_destroy(benchmark::State& state) {
    scheduler s;
    s.run([&]() -> task<void> {
        int sum = 0;
        for (auto _ : state) sum += co_await leaf(1);
        benchmark::DoNotOptimize(sum);
    }());
}
BENCHMARK(BM_task_create_await_destroy);

// Suspend into the ready queue and be resumed by the scheduler loop.
void BM_suspend_resume_round_trip(benchmark::State& state) {
    scheduler s;
    s.run([&]() -> task<void> {
        for (auto _ : state) co_await yield{};
    }());
}
BENCHMARK(BM_suspend_resume_round_trip);

// A system call that does nothing: count it, check the process, return.
void BM_syscall_nop(benchmark::State& state) {
    scheduler s;
    auto p = process::create("bench");
    s.run([&]() -> task<void> {
        for (auto _ : state) {
            auto r = co_await p->nop();
            benchmark::DoNotOptimize(r);
        }
    }());
}
BENCHMARK(BM_syscall_nop);

// A system call through a handle: lookup, type and rights check, then kernel code.
void BM_syscall_set_event(benchmark::State& state) {
    scheduler s;
    auto p = process::create("bench");
    auto ev = p->create_event().get().value();
    for (auto _ : state) {
        auto r = p->set_event(ev).get();
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_syscall_set_event);

// Arm a timer a few milliseconds ahead and cancel it, as TCP does for every segment.
void BM_timer_add_cancel(benchmark::State& state) {
    virtual_clock c;
    timer_wheel w(c.now());
    timer_entry t([](timer_entry*) {});
    std::int64_t i = 0;
    for (auto _ : state) {
        w.add(t, time_point{} + std::chrono::microseconds(200 + (i++ & 1023)));
        t.cancel();
    }
}
BENCHMARK(BM_timer_add_cancel);

// Timers that do fire: add n, advance past them all.
void BM_timer_add_fire(benchmark::State& state) {
    virtual_clock c;
    timer_wheel w(c.now());
    std::vector<timer_entry> timers(1024);
    for (auto& t : timers) t.set_callback([](timer_entry*) {});
    for (auto _ : state) {
        auto base = c.now();
        for (std::size_t i = 0; i < timers.size(); ++i)
            w.add(timers[i], base + std::chrono::microseconds(1 + static_cast<std::int64_t>(i % 300)));
        c.advance(std::chrono::milliseconds(1));
        w.advance(c.now());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(timers.size()));
}
BENCHMARK(BM_timer_add_fire);

} // namespace
