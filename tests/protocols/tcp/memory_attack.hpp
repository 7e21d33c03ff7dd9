#pragma once
// The world of the memory-pressure tests: a server host with the native stack's default pool
// (4,096 buffers of 2 KiB), a well-behaved client on one link of it and an attackers' host
// on a second link (so that an attack can be cut off, or its link made to lose every frame,
// without touching the client's), and the readings the tests compare.
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

    static sim::host_options server_options(memory_limits limits) {
        sim::host_options o;     // the native stack's default pool: 4,096 buffers of 2 KiB
        o.stack.memory = limits; // zeros: derived from the pool
        return o;
    }
    explicit attack_world(memory_limits limits = {})
        : w({.seed = 5}), client(w.add_host("a", pair_world::with({}, 60s))),
          server(w.add_host("b", server_options(limits))),
          attacker(w.add_host("c", pair_world::with({}, 60s))),
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
