// The kernel-core tour (coronet-demo --tour): processes hold handles, not pointers; system
// calls check them; a crash stays in its process; virtual time runs a simulated hour in
// microseconds; io_uring carries real I/O.
#include "examples/common/tour.hpp"

#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/ops.hpp"
#include "framework/uring/reactor.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <unistd.h>

namespace coronet::examples {

using namespace std::chrono_literals;

namespace {

void print_calls(const process& p) {
    fmt::print("  {:<10} alive={} system calls={}", p.name(), p.alive(), p.total_calls());
    for (std::size_t i = 0; i < syscall_count; ++i)
        if (auto n = p.calls(static_cast<sysno>(i))) fmt::print(" {}={}", syscall_table[i].name, n);
    fmt::print("\n");
}

// Part 1, on virtual time: a producer and a consumer process share a semaphore. The
// consumer's handle is a duplicate with the wait right only.
} // namespace

void processes_and_handles(const tour_options& opt) {
    fmt::print("== processes, handles and rights (virtual time)\n");
    virtual_clock clock;
    scheduler sched({.time_source = &clock});
    auto producer = process::create("producer");
    auto consumer = process::create("consumer");
    auto crasher = process::create("crasher");

    handle items = producer->create_semaphore(0, 1000).get().value();
    handle consumer_items =
        producer->duplicate_handle(items, *consumer, access::wait).get().value();
    fmt::print("  producer's handle {:#x}, consumer's duplicate {:#x} (wait right only)\n",
               items.value(), consumer_items.value());
    auto denied = consumer->release_semaphore(consumer_items).get();
    fmt::print("  consumer tries to release it: {} ({})\n",
               denied.error() == EACCES ? "EACCES" : "?", denied.message());

    producer->spawn([&]() -> task<void> {
        for (int i = 0; i < opt.items; ++i) {
            (void)co_await producer->sleep(std::chrono::minutes(opt.simulated_minutes) / opt.items);
            (void)producer->release_semaphore(items).get();
            fmt::print("  t={:>8.3f}s produced item {}\n",
                       std::chrono::duration<double>(clock.now().since_epoch).count(), i);
        }
    });
    consumer->spawn([&]() -> task<void> {
        for (int i = 0; i < opt.items; ++i) {
            auto r = co_await consumer->wait(consumer_items);
            if (!r) co_return;
            fmt::print("  t={:>8.3f}s consumed item {}\n",
                       std::chrono::duration<double>(clock.now().since_epoch).count(), i);
        }
    });
    crasher->spawn([&]() -> task<void> {
        (void)co_await crasher->sleep(90s);
        throw std::runtime_error("the crasher dereferenced a stale pointer");
    });

    auto wall_start = std::chrono::steady_clock::now();
    sched.run(consumer->join());
    sched.run(producer->join());
    sched.run(crasher->join());
    auto wall = std::chrono::steady_clock::now() - wall_start;
    fmt::print("  {} simulated minutes in {:.3f} ms of wall time ({} timer jumps)\n",
               opt.simulated_minutes, std::chrono::duration<double, std::milli>(wall).count(),
               sched.stats().time_jumps);
    fmt::print("  crasher ended: \"{}\"; the others went on\n", crasher->exit_reason());
    for (auto* p : {producer.get(), consumer.get(), crasher.get()})
        print_calls(*p);
}

// Part 2, on real time: io_uring moves bytes through a pipe while a when_any races a
// read against a timeout (the loser is cancelled and the kernel lets go of its buffer).
void io_uring_tour() {
    fmt::print("== io_uring (real time)\n");
    scheduler sched;
    uring::uring_reactor reactor(sched);
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    sched.run([&]() -> task<void> {
        std::string msg = "hello through io_uring";
        auto w = co_await uring::write(fds[1], std::as_bytes(std::span(msg)));
        std::array<std::byte, 64> buf{};
        auto r = co_await uring::read(fds[0], buf);
        fmt::print("  wrote {} bytes, read back \"{}\"\n", w.value_or(0),
                   std::string_view(reinterpret_cast<const char*>(buf.data()), r.value_or(0)));
        auto race = co_await when_any(
            [&]() -> task<int> {
                auto n = co_await uring::read(fds[0], buf);
                co_return n ? static_cast<int>(*n) : -n.error();
            }(),
            []() -> task<int> {
                (void)co_await sleep_for(20ms);
                co_return 0;
            }());
        fmt::print("  read on an empty pipe vs a 20 ms sleep: {} won, the read was cancelled\n",
                   race.index() == 1 ? "the sleep" : "the read");
    }());
    ::close(fds[0]);
    ::close(fds[1]);
    fmt::print("  scheduler: {} resumes, {} idle waits in the reactor\n", sched.stats().resumed,
               sched.stats().idle_waits);
}

} // namespace coronet::examples
