#include "protocols/stack/launch.hpp"

#include "drivers/capture/capture.hpp"
#include "drivers/capture/pcap_writer.hpp"
#include "drivers/faults/fault_stage.hpp"
#include "drivers/host/host_stack.hpp"
#include "drivers/tap/tap_nic.hpp"
#include "framework/coronet.hpp"
#include "framework/uring/ops.hpp"
#include "framework/uring/reactor.hpp"
#include "protocols/stack/native_stack.hpp"
#include "framework/shard/shard.hpp"
#include "protocols/stack/shard_run.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <net/if.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

// Gives the TAP interface (coronet's own device) an IPv4 address, as `ip addr add` would.
void set_kernel_address(const std::string& ifname, ipv4_prefix p) {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) throw std::system_error(errno, std::generic_category(), "socket");
    auto set = [&](unsigned long request, std::uint32_t value, const char* what) {
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(value);
        std::memcpy(&ifr.ifr_addr, &sa, sizeof sa);
        if (::ioctl(s, request, &ifr) != 0) {
            int e = errno;
            ::close(s);
            throw std::system_error(e, std::generic_category(), what);
        }
    };
    std::uint32_t mask = p.length() == 0 ? 0 : ~std::uint32_t{0} << (32 - p.length());
    set(SIOCSIFADDR, p.address().to_uint(), "SIOCSIFADDR");
    set(SIOCSIFNETMASK, mask, "SIOCSIFNETMASK");
    ::close(s);
}

// Where a shard's server runs: its index, what the shards share, and (on shard 0, when
// the run stops on signals) the signal pipe.
struct shard_place {
    unsigned id = 0;
    launch::run_shared& shared;
    signal_reader* signals = nullptr;
    bool done = false; // shard_done() was called
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

tap_options tap_options_for(const stack_options& o) {
    tap_options t;
    t.name = o.tap;
    t.mtu = o.mtu;
    t.checksum_offload = o.checksum_offload;
    t.tso = o.checksum_offload && o.tso;
    // coronet's MAC: locally administered, the low bytes from its IPv4 address.
    auto a = o.address.address().to_uint();
    t.mac = mac_address{0x02,
                        0xc0,
                        static_cast<std::uint8_t>(a >> 24),
                        static_cast<std::uint8_t>(a >> 16),
                        static_cast<std::uint8_t>(a >> 8),
                        static_cast<std::uint8_t>(a)};
    return t;
}

// A named device that exists already is attached to (a persistent TAP made by `ip tuntap`).
ref<tap_nic> open_tap(uring::uring_reactor& reactor, counter_registry& counters, buffer_pool& pool,
                      tap_options t) {
    try {
        return make_object<tap_nic>(reactor, counters, pool, t);
    } catch (const std::system_error& e) {
        if (e.code().value() != EBUSY || t.name.find('%') != std::string::npos) throw;
        t.mode = tap_open_mode::attach;
        return make_object<tap_nic>(reactor, counters, pool, t);
    }
}

int run_native_shard(const stack_options& o, const server_main& server, scheduler& sched,
                     uring::uring_reactor& reactor, shard_place& place) {
    counter_registry counters;
    // The receive pool is the NIC's alone; its buffers hold an MTU-sized frame and its
    // virtio header.
    std::uint32_t buffer = 2048;
    while (buffer < o.mtu + 14 + 64)
        buffer *= 2;
    // Every received segment pins one of these buffers until the application reads it, or,
    // out of order, until its hole is filled. A TCP window larger than the ring can hold
    // deadlocks under loss: the out-of-order queue holds every buffer and the retransmission
    // that would fill the hole finds none (seen with 1,024 buffers and the 6 MiB window's
    // auto-tuning: the kernel's sender backed off to a 54 s RTO with coronet silent). So
    // 8 MiB of buffers, half lent to the ring, and the window capped at half what those hold.
    const std::uint32_t rx_buffers = std::max<std::uint32_t>(1024, (8u << 20) / buffer);
    buffer_pool rx_pool({.buffer_size = buffer, .buffer_count = rx_buffers});
    auto nic = open_tap(reactor, counters, rx_pool, tap_options_for(o));
    if (o.kernel_address) set_kernel_address(nic->name(), *o.kernel_address);

    const std::uint64_t seed = o.seed != 0 ? o.seed : tcp::random_seed();
    std::unique_ptr<fault_stage> rx_faults, tx_faults;
    const auto& f = o.faults;
    if (f.loss > 0 || f.duplicate > 0 || f.reorder > 0 || f.corrupt > 0 || f.delay.count() > 0) {
        rx_faults = std::make_unique<fault_stage>(
            sched, counters,
            fault_stage_config{
                .name = nic->name() + "_rx_faults", .faults = f, .seed = seed * 2 + 1});
        tx_faults = std::make_unique<fault_stage>(
            sched, counters,
            fault_stage_config{
                .name = nic->name() + "_tx_faults", .faults = f, .seed = seed * 2 + 2});
        nic->add_rx_stage(*rx_faults);
        nic->add_tx_stage(*tx_faults);
    }
    std::unique_ptr<pcap_writer> pcap;
    std::unique_ptr<capture> cap;
    if (!o.pcap.empty()) {
        pcap = std::make_unique<pcap_writer>(o.pcap);
        cap = std::make_unique<capture>(*nic, *pcap);
        cap->start();
    }

    int code = 0;
    {
        native::options stack_opts;
        stack_opts.seed = seed;
        stack_opts.reassembly.timeout = o.reassembly_timeout;
        stack_opts.tcp.retries = o.tcp_retries;
        const std::size_t segment = o.mtu - 40; // payload of a full-sized frame
        stack_opts.tcp.max_receive_buffer =
            std::min(stack_opts.tcp.max_receive_buffer, std::size_t{rx_buffers} / 2 * segment / 2);
        // A send buffer holds what the peer has not acknowledged, for as long as the peer
        // likes: at Linux's 1 MiB, eight readers that never acknowledge (512 buffers each) held
        // the whole pool of 4,096, and every other connection stopped (curl got no SYN-ACK).
        // So one connection may hold 1/32 of the pool (128 buffers, 256 KiB: far more than the
        // TAP link's bandwidth-delay product); what bounds many of them together is the pool's
        // reserve and the host-wide budget.
        const auto& pool_opts = stack_opts.pool_options;
        stack_opts.tcp.send_buffer =
            std::min(stack_opts.tcp.send_buffer,
                     std::size_t{pool_opts.buffer_count} / 32 * pool_opts.buffer_size);
        native::native_stack stack(sched, counters, stack_opts);
        if (o.trace)
            stack.set_trace([](std::string_view line) {
                std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
            });
        stack.add_interface(*nic, o.address);
        if (o.gateway) {
            if (auto r = stack.set_default_gateway(*o.gateway); !r)
                throw std::runtime_error("gateway " + to_string(*o.gateway) + " is not on " +
                                         to_string(o.address));
        }
        auto p = process::create(process_name(o, place), &stack);
        server_context ctx{.proc = *p,
                           .sched = sched,
                           .counters = counters,
                           .options = o,
                           .native = &stack,
                           .tap = nic.get(),
                           .shard_id = place.id,
                           .shard_count = place.shared.count()};
        p->spawn(server(ctx));
        run_process(sched, *p, ctx, place);
        code = exit_code_of(*p, ctx);
        // Frames still held by fault stages go now, while the stack and NIC exist.
        if (tx_faults)
            sched.run_until([&] { return tx_faults->held() == 0 && rx_faults->held() == 0; });
        nic->shutdown();
        sched.run_until([&] { return nic->stopped(); });
    }
    if (cap) cap->stop();
    return code;
}

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
    const auto& f = o.faults;
    if (!o.pcap.empty() || f.loss > 0 || f.duplicate > 0 || f.reorder > 0 || f.corrupt > 0 ||
        f.delay.count() > 0)
        throw std::invalid_argument("coronet: pcap capture and fault injection need cores = 1 "
                                    "(they sit in front of one NIC queue)");
    if (o.stack == stack_kind::native) // TODO(issue 13): multi-queue TAP and steering
        throw std::invalid_argument("coronet: the native stack runs on one core for now");
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
    std::optional<signal_reader> signals;
    if (options.stop_on_signals) signals.emplace();
    // One shard's run. If it cannot start (no TAP device, a port in use), the others are ended
    // too, and its error is what run_server throws.
    auto one = [&](scheduler& sched, uring::uring_reactor& reactor, unsigned id) -> int {
        shard_place place{.id = id, .shared = shared, .signals = id == 0 && signals ? &*signals : nullptr};
        try {
            const int code = options.stack == stack_kind::host
                                 ? run_host_shard(options, server, sched, reactor, place)
                                 : run_native_shard(options, server, sched, reactor, place);
            if (!place.done) shared.shard_done();
            return code;
        } catch (...) {
            if (!place.done) shared.shard_done();
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
