// TCP: bulk throughput of one connection between two native stacks over the in-memory wire
// (MTU 1500 and 65535, write/read), beside the Linux kernel's loopback TCP measured in the same
// run with a small sender/receiver of our own; and the heap bytes per idle established
// connection (send and receive buffers empty).
// Run: build/tcp-release/bench/bench_tcp --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include "protocols/sim/world.hpp"
#include "protocols/tcp/layer.hpp"

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t transfer_bytes = 64 << 20;

// One connection a -> b moving `bytes` with write/read; returns when b has read them all.
void native_transfer(sim::world& w, sim::host& a, sim::host& b, std::size_t bytes) {
    auto server = b.create_process("sink");
    auto client = a.create_process("source");
    process* sp = server.get();
    process* cp = client.get();
    std::size_t got = 0;
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get().value();
        auto c = (co_await sp->accept(ls)).value();
        std::vector<std::byte> buf(256 << 10);
        for (;;) {
            auto n = co_await sp->read(c, buf);
            if (!n || *n == 0) break;
            got += *n;
        }
        (void)sp->close(c).get();
        (void)sp->close(ls).get();
    });
    cp->spawn([&]() -> task<void> {
        auto c = (co_await cp->connect({ipv4_address(10, 0, 0, 2), 80})).value();
        std::vector<std::byte> chunk(256 << 10, std::byte{0x42});
        for (std::size_t sent = 0; sent < bytes; sent += chunk.size())
            if (!co_await cp->write_all(c, chunk)) break;
        (void)cp->close(c).get();
    });
    w.run(server->join());
    w.run(client->join());
    if (got < bytes) throw std::runtime_error("short transfer");
}

void BM_tcp_native_bulk(benchmark::State& state) {
    const auto mtu = static_cast<std::uint32_t>(state.range(0));
    for (auto _ : state) {
        sim::world w;
        sim::host_options o;
        o.pool.buffer_size = mtu > 1500 ? 65536 + 256 : 2048;
        o.pool.buffer_count = mtu > 1500 ? 1024 : 8192;
        o.stack.tcp.msl = 1s;
        auto& a = w.add_host("a", o);
        auto& b = w.add_host("b", o);
        auto& link = w.add_wire({.mtu = mtu});
        w.connect(a, link, ipv4_prefix::parse("10.0.0.1/24").value(), mtu);
        w.connect(b, link, ipv4_prefix::parse("10.0.0.2/24").value(), mtu);
        native_transfer(w, a, b, transfer_bytes);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_bytes));
}
BENCHMARK(BM_tcp_native_bulk)->Arg(1500)->Arg(65535)->Unit(benchmark::kMillisecond)->UseRealTime();

// Linux loopback TCP, one connection, a thread each side (the native run uses one core).
void BM_tcp_kernel_loopback(benchmark::State& state) {
    for (auto _ : state) {
        int ls = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        ::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(ls, 1);
        ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
        std::thread sender([addr] {
            int s = ::socket(AF_INET, SOCK_STREAM, 0);
            ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
            std::vector<char> chunk(256 << 10, 0x42);
            for (std::size_t sent = 0; sent < transfer_bytes;) {
                auto n = ::write(s, chunk.data(), chunk.size());
                if (n <= 0) break;
                sent += static_cast<std::size_t>(n);
            }
            ::close(s);
        });
        int c = ::accept(ls, nullptr, nullptr);
        std::vector<char> buf(256 << 10);
        while (::read(c, buf.data(), buf.size()) > 0) {
        }
        sender.join();
        ::close(c);
        ::close(ls);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_bytes));
}
BENCHMARK(BM_tcp_kernel_loopback)->Unit(benchmark::kMillisecond)->UseRealTime();

// Heap bytes per idle established connection: 2,000 connections opened between two hosts,
// counted at both ends (client socket + accepted socket = 2 per connection), mallinfo2's
// in-use bytes before and after.
void BM_tcp_idle_connection_memory(benchmark::State& state) {
    constexpr int n = 2000;
    for (auto _ : state) {
        sim::world w;
        auto& a = w.add_host("a");
        auto& b = w.add_host("b");
        auto& link = w.add_wire({});
        w.connect(a, link, ipv4_prefix::parse("10.0.0.1/24").value());
        w.connect(b, link, ipv4_prefix::parse("10.0.0.2/24").value());
        auto server = b.create_process("server");
        auto client = a.create_process("client");
        std::vector<handle> accepted, opened;
        accepted.reserve(n);
        opened.reserve(n);
        handle ls = server->listen({ipv4_any, 80}, {.backlog = n}).get().value();
        (void)w.run(a.stack().ping(ipv4_address(10, 0, 0, 2)));
        const auto before = mallinfo2().uordblks;
        for (int i = 0; i < n; ++i) {
            client->spawn([&]() -> task<void> {
                opened.push_back((co_await client->connect({ipv4_address(10, 0, 0, 2), 80})).value());
            });
            server->spawn([&]() -> task<void> { accepted.push_back((co_await server->accept(ls)).value()); });
        }
        w.run_until([&] { return opened.size() == n && accepted.size() == n; }, 60s);
        const auto after = mallinfo2().uordblks;
        state.counters["bytes_per_socket"] =
            static_cast<double>(after - before) / (2.0 * n);
        server->terminate("done");
        client->terminate("done");
        w.run(server->join());
        w.run(client->join());
    }
}
BENCHMARK(BM_tcp_idle_connection_memory)->Iterations(1)->Unit(benchmark::kMillisecond);

} // namespace
