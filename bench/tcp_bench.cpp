// TCP: bulk throughput of one connection between two native stacks over the in-memory wire
// (MTU 1500 and 65535, write/read and send_zc/recv_zc), beside the Linux kernel's loopback TCP
// measured in the same run with a small sender/receiver of our own (the host's lo at MTU 65536,
// and a private namespace's lo at MTU 1500); and the heap bytes per idle established
// connection (send and receive buffers empty).
// Run: build/release/bench/bench_tcp --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include "protocols/sim/world.hpp"
#include "protocols/tcp/layer.hpp"

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdlib>
#include <malloc.h>
#include <sched.h>
#include <string>
#include <sys/wait.h>
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

enum class api { copy, zero_copy };

// One connection a -> b moving `bytes` (write/read, or send_zc/recv_zc); returns when b has
// read them all. The zero-copy sender hands the stack pool buffers as they are (a sender that
// produces its data in place, a file server say, writes them once before: not timed here), and
// the zero-copy receiver counts the bytes of each lent packet and drops it.
void native_transfer(sim::world& w, sim::host& a, sim::host& b, std::size_t bytes, api mode) {
    auto server = b.create_process("sink");
    auto client = a.create_process("source");
    process* sp = server.get();
    process* cp = client.get();
    std::size_t got = 0;
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get().value();
        auto c = (co_await sp->accept(ls)).value();
        std::vector<std::byte> buf(mode == api::copy ? 256 << 10 : 0);
        for (;;) {
            if (mode == api::copy) {
                auto n = co_await sp->read(c, buf);
                if (!n || *n == 0) break;
                got += *n;
            } else {
                auto p = co_await sp->recv_zc(c);
                if (!p || p->empty()) break;
                got += p->length();
            }
        }
        (void)sp->close(c).get();
        (void)sp->close(ls).get();
    });
    cp->spawn([&]() -> task<void> {
        auto c = (co_await cp->connect({ipv4_address(10, 0, 0, 2), 80})).value();
        constexpr std::size_t chunk_size = 256 << 10;
        std::vector<std::byte> chunk(mode == api::copy ? chunk_size : 0, std::byte{0x42});
        buffer_pool& pool = a.pool();
        for (std::size_t sent = 0; sent < bytes; sent += chunk_size) {
            if (mode == api::copy) {
                if (!co_await cp->write_all(c, chunk)) break;
                continue;
            }
            packet p;
            for (std::size_t n = 0; n < chunk_size;) {
                auto buf = pool.allocate();
                if (!buf) break;
                const auto k = static_cast<std::uint32_t>(std::min<std::size_t>(pool.buffer_size(), chunk_size - n));
                if (!p.append_slice(*buf, 0, k)) break;
                n += k;
            }
            if (p.empty() || !co_await cp->send_zc_all(c, p)) break;
        }
        (void)cp->close(c).get();
    });
    w.run(server->join());
    w.run(client->join());
    if (got < bytes) throw std::runtime_error("short transfer");
}

void BM_tcp_native_bulk(benchmark::State& state) {
    const auto mtu = static_cast<std::uint32_t>(state.range(0));
    const auto mode = static_cast<api>(state.range(1));
    // With offloads, the NICs sum nothing and the wire passes 64 KiB TSO frames whole, as
    // Linux's loopback passes its GSO packets; without, TCP cuts and sums every segment.
    const nic_features features = state.range(2) != 0
        ? nic_features{.tx_checksum_offload = true, .tso = true, .rx_gso = true}
        : nic_features{};
    for (auto _ : state) {
        sim::world w;
        sim::host_options o;
        o.pool.buffer_size = mtu > 1500 ? 65536 + 256 : 2048;
        o.pool.buffer_count = mtu > 1500 ? 1024 : 16384;
        o.stack.tcp.msl = 1s;
        auto& a = w.add_host("a", o);
        auto& b = w.add_host("b", o);
        auto& link = w.add_wire({.mtu = mtu});
        w.connect(a, link, ipv4_prefix::parse("10.0.0.1/24").value(), mtu, features);
        w.connect(b, link, ipv4_prefix::parse("10.0.0.2/24").value(), mtu, features);
        // Timed like the kernel's: from connect to the last byte read, without building the
        // hosts (their pools) around it.
        const auto start = std::chrono::steady_clock::now();
        native_transfer(w, a, b, transfer_bytes, mode);
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_bytes));
}
// Args: MTU; 0 for write/read, 1 for send_zc/recv_zc; 1 for NIC offloads (checksum, TSO
// passed whole by the wire).
BENCHMARK(BM_tcp_native_bulk)
    ->ArgNames({"mtu", "zc", "offload"})
    ->Args({1500, 0, 0})
    ->Args({1500, 1, 0})
    ->Args({1500, 0, 1})
    ->Args({1500, 1, 1})
    ->Args({65535, 0, 0})
    ->Args({65535, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// Linux loopback TCP, one connection, a thread each side (the native run uses one core);
// seconds taken to move transfer_bytes, or a negative number when a call failed.
double kernel_transfer() {
    int ls = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(ls, 1) != 0 ||
        ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return -1;
    const auto start = std::chrono::steady_clock::now();
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
    std::size_t got = 0;
    for (ssize_t n; (n = ::read(c, buf.data(), buf.size())) > 0;) got += static_cast<std::size_t>(n);
    sender.join();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    ::close(c);
    ::close(ls);
    return got == transfer_bytes ? took.count() : -1;
}

// The same in a child process in a network namespace of its own whose loopback has `mtu`
// (the real lo is never touched): unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN.
double kernel_transfer_in_namespace(int mtu) {
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        double took = -1;
        const std::string cmd = "ip link set lo mtu " + std::to_string(mtu) + " up";
        if (::unshare(CLONE_NEWNET) == 0 && std::system(cmd.c_str()) == 0) took = kernel_transfer();
        (void)!::write(fds[1], &took, sizeof took);
        ::_exit(0);
    }
    ::close(fds[1]);
    double took = -1;
    if (pid < 0 || ::read(fds[0], &took, sizeof took) != sizeof took) took = -1;
    ::close(fds[0]);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    return took;
}

// Arg: loopback MTU; 65536 is the host's own lo, anything else a private namespace's.
void BM_tcp_kernel_loopback(benchmark::State& state) {
    const int mtu = static_cast<int>(state.range(0));
    for (auto _ : state) {
        const double took = mtu == 65536 ? kernel_transfer() : kernel_transfer_in_namespace(mtu);
        if (took < 0) {
            state.SkipWithError("kernel transfer failed (a namespace needs CAP_SYS_ADMIN)");
            break;
        }
        state.SetIterationTime(took);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_bytes));
}
BENCHMARK(BM_tcp_kernel_loopback)
    ->ArgName("mtu")
    ->Arg(1500)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// Heap bytes per idle established connection: 2,000 connections opened between two hosts,
// counted at both ends (client socket + accepted socket = 2 per connection), mallinfo2's
// in-use bytes before and after. A first round of 2,000 connections is opened (and kept)
// before the measured one, so that the coroutine frames the harness spawns per connection
// come from the frame allocator's free lists, not the heap: what is left is what a connection
// holds (socket, congestion control, port and table entries, handle slot, malloc overhead).
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
        accepted.reserve(2 * n);
        opened.reserve(2 * n);
        handle ls = server->listen({ipv4_any, 80}, {.backlog = n}).get().value();
        (void)w.run(a.stack().ping(ipv4_address(10, 0, 0, 2)));
        auto open_round = [&] {
            const std::size_t target = opened.size() + n;
            for (int i = 0; i < n; ++i) {
                client->spawn([&]() -> task<void> {
                    opened.push_back((co_await client->connect({ipv4_address(10, 0, 0, 2), 80})).value());
                });
                server->spawn([&]() -> task<void> { accepted.push_back((co_await server->accept(ls)).value()); });
            }
            w.run_until([&] { return opened.size() == target && accepted.size() == target; }, 60s);
        };
        open_round(); // warm-up: frames, table buckets, handle pages
        const auto before = mallinfo2().uordblks;
        open_round();
        const auto after = mallinfo2().uordblks;
        state.counters["bytes_per_socket"] = static_cast<double>(after - before) / (2.0 * n);
        state.counters["socket_object_bytes"] = static_cast<double>(sizeof(tcp::socket));
        server->terminate("done");
        client->terminate("done");
        w.run(server->join());
        w.run(client->join());
    }
}
BENCHMARK(BM_tcp_idle_connection_memory)->Iterations(1)->Unit(benchmark::kMillisecond);

} // namespace
