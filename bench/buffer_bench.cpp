// Packet buffer hot paths: what one received or sent frame pays for its memory.
#include <benchmark/benchmark.h>

#include "framework/buffer/packet.hpp"

namespace {

using namespace coronet;

// A buffer taken from the pool and given back.
void buffer_allocate_free(benchmark::State& state) {
    buffer_pool pool;
    for (auto _ : state) {
        auto b = pool.allocate();
        benchmark::DoNotOptimize(b);
    }
}
BENCHMARK(buffer_allocate_free);

// What a sent segment pays besides its payload: a packet, TCP/IPv4/Ethernet headers pushed
// into its headroom (20 + 20 + 14 = 54 bytes), then released.
void packet_allocate_push_headers_release(benchmark::State& state) {
    buffer_pool pool;
    for (auto _ : state) {
        auto p = packet::allocate(pool);
        auto tcp = p->push_header(20);
        auto ip = p->push_header(20);
        auto eth = p->push_header(14);
        benchmark::DoNotOptimize(tcp);
        benchmark::DoNotOptimize(ip);
        benchmark::DoNotOptimize(eth);
    }
}
BENCHMARK(packet_allocate_push_headers_release);

// A second view of a packet (a retransmission queue keeping a sent segment) and its release.
void packet_share_release(benchmark::State& state) {
    buffer_pool pool;
    auto p = packet::allocate(pool).value();
    (void)p.push_header(54).value();
    for (auto _ : state) {
        auto q = p.share();
        benchmark::DoNotOptimize(q);
    }
}
BENCHMARK(packet_share_release);

} // namespace
