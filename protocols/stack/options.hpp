#pragma once
// The knobs of a native stack, each with the default a Linux host would have.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/memory_budget.hpp"
#include "framework/wall_clock.hpp"
#include "protocols/arp/cache.hpp"
#include "protocols/icmp/rate_limit.hpp"
#include "protocols/ipv4/reassembly.hpp"
#include "protocols/tcp/config.hpp"
#include "protocols/udp/layer.hpp"

#include <cstdint>

namespace coronet::native {

struct options {
    // Where packets the stack builds come from. nullptr: a pool of its own, made with
    // `pool_options`. A pool shared by several stacks (a simulated world) must outlive them.
    buffer_pool* pool = nullptr;
    buffer_pool_options pool_options{.buffer_size = 2048, .buffer_count = 4096};
    // The budget of the buffers queues may pin (memory_budget.hpp); zeros: derived from the
    // pool's size and reserve (4,096 buffers: hard 2,880, pressure 1,920, low 1,440).
    memory_limits memory;
    arp::options arp;
    ipv4::reassembly_options reassembly;
    icmp::rate_limit_options icmp_errors; // 1000/s, burst 50
    udp::options udp;
    tcp::config tcp;
    std::uint8_t ttl = 64; // RFC 1700's recommended default, Linux's ip_default_ttl
    // Seeds the IP identification counters, ephemeral ports and ping identifiers: the same
    // seed gives the same trace.
    std::uint64_t seed = 1;
    // The time of day the stack's processes read (process::wall_time()); nullptr: the
    // system's. A simulated host passes its own, which a test may step. Must outlive the stack.
    const wall_clock* wall = nullptr;
};

} // namespace coronet::native
