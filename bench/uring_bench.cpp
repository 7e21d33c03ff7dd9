// The cost of one trip through the io_uring reactor: a coroutine awaiting a nop, alone
// (submit, enter, reap, resume through the ready queue: one io_uring_enter per op) and
// with many nops in flight at once (one enter per batch).
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"

#include <benchmark/benchmark.h>
#include <vector>

using namespace coronet;
namespace uring = coronet::uring;

static void BM_uring_nop_round_trip(benchmark::State& state) {
    scheduler sched;
    uring::uring_reactor reactor(sched);
    for (auto _ : state) {
        auto ok = sched.run([]() -> task<bool> {
            bool all = true;
            for (int i = 0; i < 1000; ++i) {
                auto r = co_await uring::nop();
                all = all && static_cast<bool>(r);
            }
            co_return all;
        }());
        benchmark::DoNotOptimize(ok);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
    state.counters["enters_per_op"] =
        static_cast<double>(reactor.stats().enters) / static_cast<double>(reactor.stats().completed);
}
BENCHMARK(BM_uring_nop_round_trip)->Unit(benchmark::kMicrosecond);

// `batch` coroutines each await nops in a loop: their SQEs go to the kernel together.
static void BM_uring_nop_batched(benchmark::State& state) {
    const auto batch = static_cast<int>(state.range(0));
    scheduler sched;
    uring::uring_reactor reactor(sched);
    constexpr int per_task = 100;
    for (auto _ : state) {
        task_scope scope;
        for (int t = 0; t < batch; ++t)
            scope.spawn([]() -> task<void> {
                for (int i = 0; i < per_task; ++i) {
                    auto r = co_await uring::nop();
                    benchmark::DoNotOptimize(r);
                }
            });
        sched.run(scope.join());
    }
    state.SetItemsProcessed(state.iterations() * batch * per_task);
    state.counters["enters_per_op"] =
        static_cast<double>(reactor.stats().enters) / static_cast<double>(reactor.stats().completed);
}
BENCHMARK(BM_uring_nop_batched)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);
