// The host stack's sends: plain send (the kernel copies the bytes) against send_zc
// (IORING_OP_SEND_ZC: the kernel sends from our pages and notifies when it let go of them),
// writes of 1 KiB to 1 MiB over one connection, to choose host_options::zero_copy_threshold;
// and plain send with the socket on a registered file (host_options::registered_files).
// The sink is a plain blocking thread of this process (recv into 1 MiB, discarded). With
// CORONET_BENCH_NETNS=<name> the sink's thread enters that network namespace and listens on
// CORONET_BENCH_SINK (an IPv4 address there, reached across a veth pair), else it listens
// on loopback. bench/host_send_bench.sh makes the namespace and the veth pair.
// Run: build/debug/bench/bench_host_send --benchmark_repetitions=3
// --benchmark_report_aggregates_only=true
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace coronet;

namespace {

// Bytes a run sends: 64 MiB, but at most 16,384 writes (the 1 KiB case would take long).
std::size_t transfer_for(std::size_t write_size) {
    return std::min<std::size_t>(64 << 20, write_size * 16384);
}

// A blocking listener in its own thread (and namespace): accepts one connection and reads
// it to the end. Its bound port is known once ready() is true; done() after end of stream.
class sink {
public:
    sink() : thread_([this] { serve(); }) {
        while (!ready_.load())
            std::this_thread::yield();
    }
    ~sink() { thread_.join(); }
    bool ok() const noexcept { return port_ != 0; }
    endpoint where() const noexcept { return {address_, port(port_)}; }
    std::size_t received() const noexcept { return received_.load(); }

private:
    void serve() {
        const char* ns = std::getenv("CORONET_BENCH_NETNS");
        const char* at = std::getenv("CORONET_BENCH_SINK");
        in_addr a{};
        a.s_addr = htonl(INADDR_LOOPBACK);
        if (ns && at) {
            const std::string path = std::string("/run/netns/") + ns;
            const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0 || ::inet_pton(AF_INET, at, &a) != 1)
                return fail();
            ::close(fd);
        }
        address_ = ipv4_address(ntohl(a.s_addr));
        const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr = a;
        socklen_t len = sizeof sa;
        if (ls < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
            ::listen(ls, 1) != 0 || ::getsockname(ls, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
            return fail();
        port_ = ntohs(sa.sin_port);
        ready_ = true;
        const int c = ::accept(ls, nullptr, nullptr);
        ::close(ls);
        if (c < 0) return;
        std::vector<char> buf(1 << 20);
        for (;;) {
            const auto n = ::recv(c, buf.data(), buf.size(), 0);
            if (n <= 0) break;
            received_ += static_cast<std::size_t>(n);
        }
        ::close(c);
    }
    void fail() { ready_ = true; } // port_ stays 0

    std::atomic<bool> ready_{false};
    std::atomic<std::size_t> received_{0};
    ipv4_address address_{};
    std::uint16_t port_ = 0;
    std::thread thread_;
};

struct outcome {
    double seconds = 0; // 0: failed
    std::uint64_t zero_copy = 0, copied = 0;
};

// Seconds from the first write to the sink's last byte.
outcome send_all(std::size_t write_size, bool zero_copy, bool registered) {
    sink to;
    if (!to.ok()) return {};
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor, host::host_options{.zero_copy_threshold = zero_copy ? 1u : 0u,
                                                       .registered_files = registered ? 64u : 0u}};
    auto p = process::create("source", &stack);
    const std::size_t total = transfer_for(write_size);
    const std::vector<std::byte> chunk(write_size, std::byte{'z'});
    bool failed = false;
    auto start = std::chrono::steady_clock::now();
    sched.run(as_task([&]() -> task<void> {
        auto conn = co_await p->connect(to.where());
        if (!conn) co_return void(failed = true);
        start = std::chrono::steady_clock::now();
        for (std::size_t sent = 0; sent < total; sent += write_size) {
            auto w = co_await p->write(*conn, chunk);
            if (!w || *w != write_size) co_return void(failed = true);
        }
        (void)co_await p->close(*conn);
    }));
    sched.run(p->join());
    while (!failed && to.received() < total)
        std::this_thread::yield();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (failed) return {};
    return {took.count(), stack.stats().zero_copy_sends, stack.stats().zero_copy_copied};
}

void BM_host_send(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const bool zc = state.range(1) != 0;
    const bool registered = state.range(2) != 0;
    const char* ns = std::getenv("CORONET_BENCH_NETNS");
    state.SetLabel(std::string(zc ? "send_zc" : "send") + (registered ? ", registered file" : "") +
                   (ns ? ", veth" : ", loopback"));
    outcome last;
    for (auto _ : state) {
        last = send_all(size, zc, registered);
        if (last.seconds == 0) {
            state.SkipWithError("the transfer failed");
            break;
        }
        state.SetIterationTime(last.seconds);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_for(size)));
    // The share of zero-copy sends the kernel copied after all (1: every one).
    state.counters["copied"] =
        last.zero_copy ? static_cast<double>(last.copied) / static_cast<double>(last.zero_copy) : 0;
}
BENCHMARK(BM_host_send)
    ->ArgsProduct({{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}, {0, 1}, {0}})
    // host_options::registered_files: the socket's sends on a fixed-file slot.
    ->ArgsProduct({{1 << 10, 64 << 10}, {0}, {1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

} // namespace
