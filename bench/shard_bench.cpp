// A simulated host of 1, 2, 4 and 8 shards (protocols/sim/shard_host.hpp: shard_group in
// simulated mode, each server shard with its own scheduler, stack, NIC queue and pool, SYNs
// steered to the wrong shard forwarded with try_post) serving short connections from a client
// host: connect, a 64-byte request, a 256-byte answer, close.
//
// Everything runs on one thread, so the CPU time of an iteration is the cost of all shards
// together. The metric is ns_per_conn: CPU ns per connection summed over every shard (the
// client and wire, shard 0, included, a cost per connection the shard count does not change).
// A connection is served by one server shard, so with per-shard costs that do not grow with
// the shard count, ns_per_conn stays flat from 1 to 8 shards; what does grow is the
// forwarding of misplaced SYNs ((n-1)/n of them) and the group stepping n idle schedulers.
// Building and destroying the host is not timed.
// Run: build/release/bench/bench_shard --benchmark_repetitions=3
// --benchmark_report_aggregates_only=true
#include "framework/process/process.hpp"
#include "protocols/sim/shard_host.hpp"

#include <benchmark/benchmark.h>
#include <optional>
#include <string>
#include <vector>

using namespace coronet;

namespace {

constexpr unsigned connections = 512;
constexpr unsigned clients = 32; // connections in flight at once
constexpr std::size_t request_bytes = 64, answer_bytes = 256;
const endpoint service{ipv4_address(10, 0, 0, 2), 80};

// Reads the request, answers, closes.
task<void> answer(process& p, handle h) {
    std::vector<std::byte> buf(request_bytes);
    std::size_t got = 0;
    while (got < request_bytes) {
        auto n = co_await p.read(h, std::span(buf).subspan(got));
        if (!n || *n == 0) break;
        got += *n;
    }
    if (got == request_bytes) {
        const std::vector<std::byte> out(answer_bytes, std::byte{0x61});
        (void)co_await p.write_all(h, out);
    }
    (void)co_await p.close(h);
}

// `count` connections one after another; true for each whose whole answer came.
task<void> client_loop(process& p, unsigned count, unsigned& good) {
    const std::vector<std::byte> request(request_bytes, std::byte{0x47});
    std::vector<std::byte> buf(4096);
    for (unsigned i = 0; i < count; ++i) {
        auto c = co_await p.connect(service);
        if (!c) continue;
        std::size_t got = 0;
        auto w = co_await p.write_all(*c, request);
        if (w) {
            for (;;) {
                auto n = co_await p.read(*c, buf);
                if (!n || *n == 0) break;
                got += *n;
            }
        }
        (void)co_await p.close(*c);
        if (got == answer_bytes) ++good;
    }
}

struct result_figures {
    unsigned good = 0;
    std::uint64_t forwarded = 0;
};

// One host, `connections` served; the timing paused outside them.
result_figures serve_once(benchmark::State& state, unsigned server_shards) {
    result_figures r;
    sim::shard_host_buffers buffers(server_shards);
    shard_group group({.count = server_shards + 1, .mode = shard_mode::simulated});
    group.run([&](shard& s) -> task<void> {
        if (s.id() != 0) co_return;
        sim::shard_host host(group, buffers,
                             {.client_address = ipv4_prefix::parse("10.0.0.1/24").value(),
                              .server_address = ipv4_prefix::parse("10.0.0.2/24").value(),
                              .seed = 1});
        std::vector<std::optional<ref<process>>> servers(server_shards);
        for (unsigned i = 0; i < server_shards; ++i)
            co_await submit_to(sim::shard_host::group_shard(i), [&, i] {
                auto& p = servers[i].emplace(
                    process::create("shard" + std::to_string(i), host.stacks[i].get()));
                p->spawn([&p = *p]() -> task<void> {
                    auto ls = p.own(co_await p.listen(service));
                    if (!ls) co_return;
                    for (;;) {
                        auto c = co_await p.accept(ls->get());
                        if (!c) co_return;
                        p.spawn(answer(p, *c));
                    }
                });
            });
        auto client = process::create("client", &host.client());
        state.ResumeTiming();
        for (unsigned i = 0; i < clients; ++i)
            client->spawn(client_loop(*client, connections / clients, r.good));
        co_await client->join();
        state.PauseTiming();
        for (unsigned i = 0; i < server_shards; ++i)
            co_await submit_to(sim::shard_host::group_shard(i), [&, i]() -> task<void> {
                (*servers[i])->terminate("bench over");
                co_await (*servers[i])->join();
            });
        r.forwarded = host.sum("tcp_forwarded_out");
    });
    return r;
}

void sim_shards(benchmark::State& state) {
    const auto shards = static_cast<unsigned>(state.range(0));
    result_figures last;
    for (auto _ : state) {
        state.PauseTiming();
        last = serve_once(state, shards);
        state.ResumeTiming();
        if (last.good != connections) {
            state.SkipWithError("a connection failed");
            return;
        }
    }
    const double conns = double(connections) * double(state.iterations());
    state.counters["conns_per_cpu_s"] = benchmark::Counter(conns, benchmark::Counter::kIsRate);
    state.counters["ns_per_conn"] =
        benchmark::Counter(conns * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["forwarded_per_conn"] = double(last.forwarded) / connections;
}

} // namespace

BENCHMARK(sim_shards)
    ->ArgName("shards")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond);
