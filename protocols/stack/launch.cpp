#include "protocols/stack/launch.hpp"

#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/shard/shard.hpp"
#include "framework/uring/ops.hpp"
#include "framework/uring/reactor.hpp"
#include "protocols/stack/shard_run.hpp"
#include "protocols/tcp/siphash.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace coronet {
namespace {

// SIGINT and SIGTERM (stop) and SIGUSR1 (report), turned into a byte on a pipe that the loop
// reads through io_uring
// (the self-pipe trick). A signalfd read through io_uring would be served by an io_uring
// worker thread, whose own pending signals are not the process's: it never completes.
// The old handlers come back in the destructor; exec'd children start with the defaults.
int signal_pipe_write = -1;

extern "C" void on_stop_signal(int signo) {
    int saved = errno;
    auto b = static_cast<unsigned char>(signo);
    (void)!::write(signal_pipe_write, &b, 1);
    errno = saved;
}

} // namespace

namespace launch {

class signal_reader {
public:
    signal_reader() {
        if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
        // The read end blocks (io_uring waits on it); the handler's write end never does.
        ::fcntl(fds_[0], F_SETFL, 0);
        signal_pipe_write = fds_[1];
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        ::sigaction(SIGINT, &sa, &old_int_);
        ::sigaction(SIGTERM, &sa, &old_term_);
        ::sigaction(SIGUSR1, &sa, &old_usr1_);
    }
    ~signal_reader() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
        ::sigaction(SIGUSR1, &old_usr1_, nullptr);
        signal_pipe_write = -1;
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    signal_reader(const signal_reader&) = delete;
    signal_reader& operator=(const signal_reader&) = delete;

    // Makes next() return 0.
    void wake() { on_stop_signal(0); }
    // The number of the next signal; 0 after wake() or if the wait failed.
    task<int> next() {
        std::array<std::byte, 1> b{};
        auto n = co_await uring::read(fds_[0], b);
        co_return n&&* n == 1 ? static_cast<int>(b[0]) : 0;
    }

private:
    int fds_[2] = {-1, -1};
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
    struct sigaction old_usr1_ {};
};

std::string process_name(const stack_options& o, const shard_place& place) {
    return place.shared.count() == 1 ? o.process_name
                                     : o.process_name + "/" + std::to_string(place.id);
}

// Runs the process until it ends. On the shard that watches signals, SIGINT or SIGTERM ends
// every shard's process and SIGUSR1 reports them all; it watches until every shard is done,
// not only its own. (Not when_any of the join and the watcher: a process's join cannot be
// cancelled, so the loser would be waited for forever.)
void run_process(scheduler& sched, process& p, server_context& ctx, shard_place& place) {
    task_scope background; // calls that end the other shards
    ctx.finish_all = [&](int code) { place.shared.end_all(place.id, false, code, background); };
    place.shared.attach(place.id, p, ctx);
    if (place.signals == nullptr) {
        sched.run(p.join());
    } else {
        task_scope watcher;
        watcher.spawn([&]() -> task<void> {
            for (;;) {
                const int sig = co_await place.signals->next();
                if (sig == SIGUSR1) {
                    const std::string out = co_await place.shared.report_all();
                    std::fwrite(out.data(), 1, out.size(), stderr);
                    std::fflush(stderr);
                    continue;
                }
                if (sig != 0) place.shared.end_all(place.id, true, 0, background);
                co_return;
            }
        });
        sched.run(p.join());
        place.shared.shard_done();
        place.done = true;
        sched.run_until([&] { return place.shared.all_ended(); });
        place.signals->wake(); // a 0 ends the watcher's wait if no signal came
        sched.run(watcher.join());
    }
    sched.run(background.join());
    place.shared.detach(place.id);
}

int exit_code_of(const process& p, const server_context& ctx) {
    const auto& why = p.exit_reason();
    if (why.empty() || why == server_context::finished_reason) return ctx.exit_code;
    if (why == "stopped by a signal") return 0;
    std::fprintf(stderr, "%s ended: %s\n", p.name().c_str(), why.c_str());
    return 1;
}

} // namespace launch

namespace {

using namespace launch;

int run_host_shard(const stack_options& o, const server_main& server, scheduler& sched,
                   uring::uring_reactor& reactor, shard_place& place) {
    counter_registry counters;
    // Every shard listens on the server's ports: the kernel spreads connections across them.
    host::host_stack stack(reactor, {.reuse_port = place.shared.count() > 1});
    auto p = process::create(process_name(o, place), &stack);
    server_context ctx{.proc = *p,
                       .sched = sched,
                       .counters = counters,
                       .options = o,
                       .shard_id = place.id,
                       .shard_count = place.shared.count()};
    p->spawn(server(ctx));
    run_process(sched, *p, ctx, place);
    return exit_code_of(*p, ctx);
}

void check_sharded_options(const stack_options& o, unsigned cores) {
    if (cores == 1) return;
    if (!o.pcap.empty() || o.faults.any() || o.shaper_rate_bps != 0)
        throw std::invalid_argument("coronet: pcap capture, fault injection and the shaper need "
                                    "cores = 1 (they sit in front of one NIC queue)");
}

} // namespace

unsigned shard_count(const stack_options& o) {
    if (o.cores != 0) return o.cores;
    return std::max<unsigned>(1, static_cast<unsigned>(shard_group::usable_cpus().size()));
}

int run_server(const stack_options& options, const server_main& server) {
    const unsigned cores = shard_count(options);
    check_sharded_options(options, cores);
    launch::run_shared shared(cores);
    // The stack's keys: random unless given, since a stranger who knows them computes our
    // ISNs, cookies and ports; one for every shard.
    launch::native_shared native(cores, options.seed != 0 ? options.seed : tcp::random_seed());
    std::optional<signal_reader> signals;
    if (options.stop_on_signals) signals.emplace();
    // One shard's run. If it cannot start (no TAP device, a port in use), the others are ended
    // too, and its error is what run_server throws.
    auto one = [&](scheduler& sched, uring::uring_reactor& reactor, unsigned id) -> int {
        shard_place place{.id = id, .shared = shared, .signals = id == 0 && signals ? &*signals : nullptr};
        try {
            const int code = options.stack == stack_kind::host
                                 ? run_host_shard(options, server, sched, reactor, place)
                                 : run_native_shard(options, server, sched, reactor, place, native);
            if (!place.done) shared.shard_done();
            return code;
        } catch (...) {
            if (!place.done) shared.shard_done();
            if (id == 0) try { // the others may wait for the TAP device it did not make
                    native.device_made.set_exception(std::current_exception());
                } catch (const std::future_error&) {
                }
            task_scope ending;
            shared.end_all(id, false, 1, ending);
            sched.run(ending.join());
            throw;
        }
    };
    if (cores == 1) {
        scheduler sched;
        uring::uring_reactor reactor(sched);
        return one(sched, reactor, 0);
    }
    shard_group group({.count = cores});
    std::vector<int> codes(cores, 0);
    group.run_threads([&](shard& s) { codes[s.id()] = one(s.sched(), *s.reactor(), s.id()); });
    for (int c : codes)
        if (c != 0) return c;
    return 0;
}


int run_server(const stack_options& options, const std::function<task<void>(process&)>& server) {
    return run_server(options,
                      server_main([server](server_context& ctx) { return server(ctx.proc); }));
}

} // namespace coronet
