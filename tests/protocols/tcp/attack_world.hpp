#pragma once
// Three hosts for attacks on a server: a well-behaved client (a, 10.0.0.1) and the server
// (b, 10.0.0.2) on the near wire; the attackers' host (c, 10.0.1.1) behind a far wire of the
// server's own (10.0.1.2), so that an attack can be cut off, or its link made to lose every
// frame, without touching the client's. The server has the native stack's default pool
// (4,096 buffers of 2 KiB); ARP entries last an hour, so that a silent peer is found out by
// TCP, not by ARP. Also the readings the memory-pressure tests compare.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>

namespace coronet::tcp_test {

inline const ipv4_address server_far_addr(10, 0, 1, 2);

inline std::uint64_t memory_gauge(sim::host& h, const char* name) {
    return h.counters().find("memory")->find(name)->value;
}

struct attack_world {
    sim::world w;
    sim::host& client;
    sim::host& server;
    sim::host& attacker;
    wire& near;
    wire& far;
    std::uint32_t in_use_before = 0; // the server's pool once both links are resolved

    static sim::host_options server_options(sim::host_options o, duration arp_lifetime) {
        o.stack.arp.reachable_time = arp_lifetime;
        return o;
    }
    // The server's budget set to `limits` (zeros: derived from the pool).
    static sim::host_options with_memory(memory_limits limits) {
        sim::host_options o;
        o.stack.memory = limits;
        return o;
    }
    explicit attack_world(std::uint64_t seed, sim::host_options server_opts = {},
                          duration arp_lifetime = 3600s)
        : w({.seed = seed}), client(w.add_host("a", pair_world::with({}, arp_lifetime))),
          server(w.add_host("b", server_options(server_opts, arp_lifetime))),
          attacker(w.add_host("c", pair_world::with({}, arp_lifetime))),
          near(w.add_wire({.name = "near", .latency = 1ms, .bandwidth_bps = 1'000'000'000})),
          far(w.add_wire({.name = "far", .latency = 1ms, .bandwidth_bps = 1'000'000'000})) {
        w.connect(client, near, prefix("10.0.0.1/24"));
        w.connect(server, near, prefix("10.0.0.2/24"));
        w.connect(attacker, far, prefix("10.0.1.1/24"));
        w.connect(server, far, prefix("10.0.1.2/24"));
        (void)w.run(client.stack().ping(b_addr));
        (void)w.run(attacker.stack().ping(server_far_addr));
        in_use_before = server.pool().in_use();
    }
    // The memory tests' world: seed 5, ARP entries of a minute (Linux's default), as their
    // figures were taken with.
    explicit attack_world(memory_limits limits) : attack_world(5, with_memory(limits), 60s) {}

    // The attackers' host drops off the network: nothing sent to it arrives.
    void attackers_vanish() { far.faults().set_config({.loss = 1.0}); }
    std::uint64_t server_counter(const char* group, const char* name) {
        return server.counters().find(group)->find(name)->value;
    }

    // Runs `steps` of 10 ms, calling `sample` after each, until `done()` holds.
    void run_sampled(
        int steps, const std::function<void()>& sample,
        const std::function<bool()>& done = [] { return false; }) {
        for (int i = 0; i < steps && !done(); ++i) {
            w.run_for(10ms);
            sample();
        }
    }

    // The attackers go (their link healed first: what their process held is reset or closed),
    // then the client; two minutes for the connections they leave to end, then the server
    // and a minute more for its TIME-WAITs. Returns the server pool's buffers in use then.
    std::uint32_t wind_down(process& attackers, process& client_process, process& server_process) {
        far.faults().set_config({});
        attackers.terminate("attack over");
        w.run(attackers.join());
        client_process.terminate("test over");
        w.run(client_process.join());
        w.run_for(120s);
        server_process.terminate("test over");
        w.run(server_process.join());
        w.run_for(61s);
        return server.pool().in_use();
    }
};

// The server's state, sampled while an attack goes on.
struct pressure_samples {
    std::uint32_t fewest_free = UINT32_MAX; // buffers left in the server's pool
    std::uint64_t most_queued = 0;          // memory.<gauge>
    void take(sim::host& server, const char* gauge) {
        fewest_free = std::min(fewest_free, server.pool().available());
        most_queued = std::max(most_queued, memory_gauge(server, gauge));
    }
};

} // namespace coronet::tcp_test
