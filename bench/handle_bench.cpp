// Handle table micro benchmarks: the lookup every system call makes (handle to object with the
// rights test), over tables of one, two and three levels, in a random order computed before
// the timing; and the insert/close pair that opening and closing a socket costs.
#include "framework/object/handle_table.hpp"
#include "framework/object/ref.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <random>
#include <vector>

namespace {

using namespace coronet;

class bench_socket : public typed_object<object_type::socket> {};

void BM_handle_lookup(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    handle_table table;
    auto sock = make_object<bench_socket>();
    std::vector<handle> handles;
    for (std::size_t i = 0; i < size; ++i)
        handles.push_back(*table.insert(sock, access::read | access::write));

    std::vector<handle> order(std::size_t{1} << 16); // a power of two: the index is a mask
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::size_t> pick(0, size - 1);
    for (handle& h : order)
        h = handles[pick(rng)];

    std::size_t i = 0;
    for (auto _ : state) {
        auto found = table.lookup(order[i++ & (order.size() - 1)], access::read);
        benchmark::DoNotOptimize(found);
    }
    state.counters["levels"] = table.levels();
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_handle_lookup)->Arg(1)->Arg(1000)->Arg(300'000);

void BM_handle_insert_close(benchmark::State& state) {
    handle_table table;
    auto sock = make_object<bench_socket>();
    for (auto _ : state) {
        auto h = table.insert(sock, access::read | access::write);
        benchmark::DoNotOptimize(h);
        auto closed = table.close(*h);
        benchmark::DoNotOptimize(closed);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_handle_insert_close);

} // namespace
