// run_server's native stack (launch.hpp): one shard's TAP queue, stack and process. With
// several shards, shard 0 makes a multi-queue TAP device and the others attach a queue each
// (drivers/tap); every shard's stack has the same address, MAC and seed, and steers TCP
// segments to the shard that owns their connection through try_post (protocols/stack/
// steering.hpp), the owner injecting them as if its own queue had received them.
#include "drivers/capture/capture.hpp"
#include "drivers/capture/pcap_writer.hpp"
#include "drivers/faults/fault_stage.hpp"
#include "drivers/shaper/shaper.hpp"
#include "drivers/tap/tap_nic.hpp"
#include "framework/coronet.hpp"
#include "framework/shard/submit.hpp"
#include "framework/uring/reactor.hpp"
#include "protocols/stack/launch.hpp"
#include "protocols/stack/native_stack.hpp"
#include "protocols/stack/shard_run.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <net/if.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace coronet::launch {
namespace {

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

// This shard's queue of the TAP device: the device itself on shard 0 (multi-queue when there
// are more), one more queue of it on the others, once shard 0 has made it.
ref<tap_nic> open_queue(const stack_options& o, uring::uring_reactor& reactor,
                        counter_registry& counters, buffer_pool& pool, buffer_pool* copy_pool,
                        const shard_place& place, native_shared& shared) {
    tap_options t = tap_options_for(o);
    if (copy_pool != nullptr) {
        t.copy_pool = copy_pool;
        t.copy_below = copy_pool->buffer_size() - packet::default_headroom;
    }
    const bool sharded = place.shared.count() > 1;
    t.multi_queue = sharded;
    if (place.id != 0) {
        t.mode = tap_open_mode::attach_queue;
        t.name = shared.device.get(); // rethrows shard 0's failure to make it
        return make_object<tap_nic>(reactor, counters, pool, t);
    }
    try {
        auto nic = open_tap(reactor, counters, pool, t);
        if (o.kernel_address) set_kernel_address(nic->name(), *o.kernel_address);
        if (sharded) shared.device_made.set_value(nic->name());
        return nic;
    } catch (...) {
        if (sharded) shared.device_made.set_exception(std::current_exception());
        throw;
    }
}

// The receive pools of one TAP queue. Without TSO, buffers sized for an MTU frame and its
// virtio header, every frame zero-copy. With checksum offload and TSO, buffers of 64 KiB, so
// that the kernel hands coronet its large segments (TUN_F_TSO4: one TAP read, one TCP input,
// one ACK for up to 45 segments: drivers/tap/README.md has the figures), and a pool of MTU-sized buffers beside them that frames small enough are
// copied into (tap_options::copy_below), so a 64 KiB buffer is held only by a frame of two
// segments or more. The big region is 64 MiB of address space; what is resident is what the
// kernel's frames touched.
struct receive_pools {
    std::uint32_t buffer;
    std::uint32_t count;
    std::uint32_t copy_buffer = 0;
    std::uint32_t copy_count = 0;
};

receive_pools receive_pools_for(const stack_options& o) {
    std::uint32_t small = 2048;
    while (small < o.mtu + 14 + 64)
        small *= 2;
    // Every received segment pins one of these buffers until the application reads it, or,
    // out of order, until its hole is filled. A TCP window larger than the ring can hold
    // deadlocks under loss: the out-of-order queue holds every buffer and the retransmission
    // that would fill the hole finds none (seen with 1,024 buffers and the 6 MiB window's
    // auto-tuning: the kernel's sender backed off to a 54 s RTO with coronet silent). So
    // 8 MiB of buffers, half lent to the ring, and the window capped at half what those hold
    // (in segments: run_native_shard). With 64 KiB buffers the same cap counts one segment
    // per buffer, which holds: a frame too long to be copied carries more than one MSS.
    const std::uint32_t small_count = std::max<std::uint32_t>(1024, (8u << 20) / small);
    if (!(o.checksum_offload && o.tso)) return {.buffer = small, .count = small_count};
    // 10 bytes of virtio header, 14 of Ethernet, 65,535 of IP, rounded up to a cache line.
    constexpr std::uint32_t gso_frame = (10 + 14 + 65535 + 63) / 64 * 64;
    return {.buffer = gso_frame, .count = 1024, .copy_buffer = small, .copy_count = small_count};
}

// Frames this stack's steering gives to another shard: a copy in a message, injected there
// into that shard's stack (if it still has one: a shard that has ended drops them).
native::forwarder forward_to_shards(native_shared& shared, native::interface_id iface) {
    return [&shared, iface](unsigned to, std::span<const std::byte> frame,
                            const packet_offload& offload) {
        return try_post(to, [&shared, iface, to, offload,
                             bytes = std::vector<std::byte>(frame.begin(), frame.end())] {
            if (native::native_stack* s = shared.stacks[to]) s->inject(iface, bytes, offload);
        });
    };
}

} // namespace

native_shared::native_shared(unsigned count, std::uint64_t stack_seed)
    : seed(stack_seed), device(device_made.get_future().share()), stacks(count, nullptr) {}

int run_native_shard(const stack_options& o, const server_main& server, scheduler& sched,
                     uring::uring_reactor& reactor, shard_place& place, native_shared& shared) {
    counter_registry counters;
    const receive_pools pools = receive_pools_for(o);
    buffer_pool rx_pool({.buffer_size = pools.buffer, .buffer_count = pools.count});
    std::optional<buffer_pool> copy_pool;
    if (pools.copy_count != 0)
        copy_pool.emplace(buffer_pool_options{.buffer_size = pools.copy_buffer,
                                              .buffer_count = pools.copy_count});
    const std::uint32_t rx_buffers = pools.count;
    auto nic = open_queue(o, reactor, counters, rx_pool, copy_pool ? &*copy_pool : nullptr,
                          place, shared);

    const std::uint64_t seed = shared.seed;
    std::unique_ptr<fault_stage> rx_faults, tx_faults;
    const auto& f = o.faults;
    if (f.any()) {
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
    // Added last, so met first: the host's own queue discipline, then the link's faults.
    std::unique_ptr<shaper> tbf;
    if (o.shaper_rate_bps != 0) {
        const std::uint32_t burst =
            o.shaper_burst_bytes != 0 ? o.shaper_burst_bytes : 2 * (o.mtu + 14);
        tbf = std::make_unique<shaper>(sched, counters,
                                       shaper_config{.name = nic->name() + "_shaper",
                                                     .rate_bps = o.shaper_rate_bps,
                                                     .burst_bytes = burst});
        nic->add_tx_stage(*tbf);
        tbf->wake_on_space(nic->tx_ready());
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
        if (o.trace) // with several shards, each line says whose it is
            stack.set_trace([prefix = place.shared.count() > 1
                                          ? "shard " + std::to_string(place.id) + ": "
                                          : std::string()](std::string_view line) {
                std::fprintf(stderr, "%s%.*s\n", prefix.c_str(), int(line.size()), line.data());
            });
        // The TAP queue is the stack's first and only interface: the one injected frames
        // arrive on. Steering is set before the interface exists (its receiver uses it).
        constexpr native::interface_id iface = 0;
        if (place.shared.count() > 1) {
            stack.set_steering(place.id, place.shared.count(), forward_to_shards(shared, iface));
            shared.stacks[place.id] = &stack;
        }
        if (stack.add_interface(*nic, o.address) != iface)
            throw std::logic_error("coronet: the TAP queue is not the stack's interface 0");
        struct unpublish { // before the stack goes: frames forwarded later are dropped
            native_shared& shared;
            unsigned id;
            ~unpublish() { shared.stacks[id] = nullptr; }
        } unpublished_at_end{shared, place.id};
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
        // Frames still held by the shaper and the fault stages go now, while the stack and NIC
        // exist.
        if (tbf) sched.run_until([&] { return tbf->queued() == 0; });
        if (tx_faults)
            sched.run_until([&] { return tx_faults->held() == 0 && rx_faults->held() == 0; });
        nic->shutdown();
        sched.run_until([&] { return nic->stopped(); });
    }
    if (cap) cap->stop();
    return code;
}

} // namespace coronet::launch
