#pragma once
// Three hosts for attacks on a server: a well-behaved client (a, 10.0.0.1) and the server
// (b, 10.0.0.2) on the near wire; the attackers' host (c, 10.0.1.1) behind a far wire of the
// server's own (10.0.1.2), so that attackers vanish by making that wire lose everything.
// The server has the native stack's default pool (4,096 buffers of 2 KiB); ARP entries last
// an hour, so that a silent peer is found out by TCP, not by ARP.
#include "tests/protocols/tcp/sim_fixture.hpp"

namespace coronet::tcp_test {

inline const ipv4_address server_far_addr(10, 0, 1, 2);

struct attack_world {
    sim::world w;
    sim::host& client;
    sim::host& server;
    sim::host& attacker;
    wire& near;
    wire& far;

    static sim::host_options server_options(sim::host_options o) {
        o.stack.arp.reachable_time = 3600s;
        return o;
    }
    explicit attack_world(std::uint64_t seed, sim::host_options server_opts = {})
        : w({.seed = seed}), client(w.add_host("a", pair_world::with({}, 3600s))),
          server(w.add_host("b", server_options(server_opts))),
          attacker(w.add_host("c", pair_world::with({}, 3600s))),
          near(w.add_wire({.name = "near", .latency = 1ms, .bandwidth_bps = 1'000'000'000})),
          far(w.add_wire({.name = "far", .latency = 1ms, .bandwidth_bps = 1'000'000'000})) {
        w.connect(client, near, prefix("10.0.0.1/24"));
        w.connect(server, near, prefix("10.0.0.2/24"));
        w.connect(attacker, far, prefix("10.0.1.1/24"));
        w.connect(server, far, prefix("10.0.1.2/24"));
        (void)w.run(client.stack().ping(b_addr));
        (void)w.run(attacker.stack().ping(server_far_addr));
    }
    // The attackers' host drops off the network: nothing sent to it arrives.
    void attackers_vanish() { far.faults().set_config({.loss = 1.0}); }
    std::uint64_t server_counter(const char* group, const char* name) {
        return server.counters().find(group)->find(name)->value;
    }
};

} // namespace coronet::tcp_test
