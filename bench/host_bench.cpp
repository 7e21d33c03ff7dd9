// The host stack (Linux sockets through io_uring): bulk throughput of one loopback connection
// between two of its sockets in one process and one reactor, the receiver using read (the
// kernel copies into the caller's 64 KiB buffer) or recv_zc (the kernel copies into a buffer
// of the stack's provided-buffer ring, lent as a packet and dropped); and the round trip of
// 64 bytes each way, both reads bounded by a receive timeout that never expires or by none
// (what a timeout adds to a read that completes before its deadline).
// Run: build/release/bench/bench_host --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// (--benchmark_filter=timed for the round trips alone)
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <benchmark/benchmark.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <vector>

using namespace coronet;

namespace {

constexpr std::size_t transfer_bytes = 256 << 20;

enum class receive { read, recv_zc };

// Seconds from connect to the receiver's last byte; 0 on a failure (reported as an error).
double host_transfer(receive mode, std::uint32_t ring_buffers, std::uint32_t ring_buffer_size) {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor, host::host_options{.receive_buffers = ring_buffers, .receive_buffer_size = ring_buffer_size}};
    auto server = process::create("sink", &stack);
    auto client = process::create("source", &stack);
    auto ls = server->listen({ipv4_address(127, 0, 0, 1), 0});
    if (!ls) return 0;
    const auto where = server->get_socket_name(*ls).value();
    std::size_t received = 0;
    bool failed = false;
    server->spawn([&]() -> task<void> {
        auto conn = co_await server->accept(*ls);
        if (!conn) co_return void(failed = true);
        std::vector<std::byte> buf(64 << 10);
        while (received < transfer_bytes) {
            std::size_t n = 0;
            if (mode == receive::read) {
                auto r = co_await server->read(*conn, buf);
                if (!r || *r == 0) break;
                n = *r;
            } else {
                auto p = co_await server->recv_zc(*conn);
                if (!p || p->empty()) break;
                n = p->length();
            }
            received += n;
        }
        failed = failed || received != transfer_bytes;
        (void)co_await server->close(*conn);
    });
    const auto start = std::chrono::steady_clock::now();
    client->spawn([&]() -> task<void> {
        auto conn = co_await client->connect(where);
        if (!conn) co_return void(failed = true);
        std::vector<std::byte> chunk(256 << 10, std::byte{'x'});
        for (std::size_t sent = 0; sent < transfer_bytes; sent += chunk.size()) {
            auto w = co_await client->write_all(*conn, chunk);
            if (!w) co_return void(failed = true);
        }
        (void)co_await client->close(*conn);
    });
    sched.run(server->join());
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    sched.run(client->join());
    return failed ? 0 : took.count();
}

void BM_host_loopback_bulk(benchmark::State& state) {
    const auto mode = static_cast<receive>(state.range(0));
    const auto count = static_cast<std::uint32_t>(state.range(1));
    const auto size = static_cast<std::uint32_t>(state.range(2));
    state.SetLabel(mode == receive::read ? "read"
                                         : "recv_zc, ring of " + std::to_string(count) + " x " +
                                               std::to_string(size >> 10) + " KiB");
    for (auto _ : state) {
        const double took = host_transfer(mode, count, size);
        if (took == 0) {
            state.SkipWithError("the transfer failed");
            break;
        }
        state.SetIterationTime(took);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_bytes));
}
BENCHMARK(BM_host_loopback_bulk)
    ->Args({0, 0, 0})
    ->Args({1, 256, 16384})
    ->Args({1, 64, 16384})
    ->Args({1, 16, 65536})
    ->Args({1, 256, 65536})
    ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// One connection, 64 bytes each way per iteration: the client writes and reads the echo,
// the server reads and writes back. Both sockets get receive_timeout `timeout_ms` (0: none),
// timed by the kernel (linked timeouts) or by the process layer's with_timeout; the sockets
// on registered files (host_options::registered_files) or not.
void BM_host_timed_round_trip(benchmark::State& state) {
    const auto timeout_ms = state.range(0);
    const bool linked = state.range(1) != 0;
    const bool registered = state.range(2) != 0;
    state.SetLabel((timeout_ms == 0 ? std::string("no timeout")
                                    : "receive timeout " + std::to_string(timeout_ms) + " ms, " +
                                          (linked ? "linked timeouts" : "with_timeout")) +
                   (registered ? ", registered files" : ""));
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor, host::host_options{.registered_files = registered ? 16u : 0u,
                                                       .linked_timeouts = linked}};
    auto server = process::create("echo", &stack);
    auto client = process::create("pinger", &stack);
    auto ls = server->listen({ipv4_address(127, 0, 0, 1), 0});
    if (!ls) return state.SkipWithError("listen failed");
    const auto where = server->get_socket_name(*ls).value();
    bool failed = false;
    server->spawn([&]() -> task<void> {
        auto conn = co_await server->accept(*ls);
        if (!conn || !server->set_socket_option(*conn, socket_option::receive_timeout, timeout_ms))
            co_return void(failed = true);
        std::array<std::byte, 64> buf{};
        for (;;) {
            auto n = co_await server->read(*conn, buf);
            if (!n || *n == 0) break;
            auto w = co_await server->write_all(*conn, std::span(buf).first(*n));
            if (!w) break;
        }
        (void)co_await server->close(*conn);
    });
    client->spawn([&]() -> task<void> {
        auto conn = co_await client->connect(where);
        if (!conn || !client->set_socket_option(*conn, socket_option::receive_timeout, timeout_ms))
            co_return void(failed = true);
        (void)client->set_socket_option(*conn, socket_option::no_delay, 1);
        std::array<std::byte, 64> out{}, in{};
        for (auto _ : state) {
            auto w = co_await client->write_all(*conn, out);
            if (!w) {
                failed = true;
                break;
            }
            auto r = co_await client->read_exactly(*conn, in);
            if (!r) {
                failed = true;
                break;
            }
        }
        (void)co_await client->close(*conn);
    });
    sched.run(client->join());
    sched.run(server->join());
    if (failed) state.SkipWithError("the round trips failed");
    state.SetItemsProcessed(state.iterations());
    const auto trips = static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
    state.counters["enters_per_trip"] = static_cast<double>(reactor.stats().enters) / trips;
    state.counters["sqes_per_trip"] = static_cast<double>(reactor.stats().submitted) / trips;
}
BENCHMARK(BM_host_timed_round_trip)
    ->Args({0, 1, 0})
    ->Args({10000, 0, 0})
    ->Args({10000, 1, 0})
    ->Args({0, 1, 1})
    ->Args({10000, 1, 1})
    ->Unit(benchmark::kMicrosecond);

} // namespace
