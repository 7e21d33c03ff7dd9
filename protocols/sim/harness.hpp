#pragma once
// A test harness for a user's own server: hosts on one wire, server and client processes
// from lambdas, a run on virtual time to the clients' end with a limit, and faults, pcap and
// counters one call away. No test framework inside: a Catch2 or GoogleTest case or a plain
// main checks what run() returns and what the lambdas recorded.
//
//   sim::test_network net({.faults = {.loss = 0.02}});
//   net.spawn_server(net.b(), [](process& p) -> task<void> {
//       auto ls = p.own(co_await p.listen({ipv4_any, 7}));
//       ...
//   });
//   std::string got;
//   net.spawn_client(net.a(), [&](process& p) -> task<void> { ...connect(net.address(net.b()), 7)
//   }); auto r = net.run();                 // false (and why, with the seed) on a hang or a crash
//   assert(r && got == "hello");
//
// Seeds: a network whose options leave the seed unset takes CORONET_SEED from the environment
// (else 1), so a failure's printed line "replay: CORONET_SEED=N" reruns it exactly. The seed is
// printed on stderr when run() fails and when the network goes during an exception (a
// REQUIRE that threw). Hosts are a, b, c... at 10.0.0.1, .2, .3... /24, with ARP settled
// before the constructor returns; more than two hosts share a hub.
//
// Lifetimes: every process spawned here is ended and joined before the world goes, so a
// server looping on accept() needs no stopping. Their coroutines resume once more then, with
// ECANCELED: what a lambda still running may touch must be declared before the network.
//
// Faults beyond the wire's (set_faults: loss, duplication, reordering, corruption, delay,
// jitter, and `truncate`: frames cut to an MTU by a middlebox, which the receiver must drop):
//  - partitions: partition(a, b) / heal(a, b), one way or both, now or after a delay;
//  - crashes: crash(h) stops h dead (world.hpp): its stack goes without a segment sent, every
//    process on it ends (a client ended so counts as ended for run(), not hung, not crashed),
//    frames to it are dropped; restart(h) boots a fresh stack on the same NIC, address and
//    MAC with a new seed, so peers' old connections get RST. Servers do not come back: spawn
//    them again after the restart. Called outside a run, crash() also joins the processes;
//    inside one (from a lambda, or crash_after) their coroutines end at the loop's next turns;
//  - clock steps: step_clock(h, d) moves h's time of day (process::wall_time()) by d, forward
//    or back; virtual time, timers and TCP go on untouched, as with CLOCK_MONOTONIC;
//  - a shaper: network_options::shaper on every host's NIC, or shape(h, config) on one: a
//    token bucket (drivers/shaper) on its transmit path, e.g. 10 Mbit/s with a 3 KB burst.
#include "protocols/sim/world.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace coronet::sim {

struct network_options {
    std::size_t hosts = 2;
    std::optional<std::uint64_t> seed{}; // unset: CORONET_SEED, else 1
    fault_config faults{};
    duration latency = std::chrono::milliseconds(1);
    std::uint64_t bandwidth_bps = 1'000'000'000;
    std::uint32_t mtu = 1500;
    host_options host{};
    // A token-bucket shaper on every host's transmit path, from the end of the set-up on.
    std::optional<shaper_config> shaper{};
    duration time_limit = std::chrono::hours(1); // of virtual time, for each run()
};

// CORONET_SEED if set to a number, else `fallback`.
std::uint64_t seed_from_env(std::uint64_t fallback = 1);

struct run_result {
    bool finished = false;            // every client ended, none by an exception
    std::vector<std::string> hung;    // clients still running at the time limit
    std::vector<std::string> crashed; // "name: reason" of processes an exception ended
    std::uint64_t seed = 0;
    time_point at{}; // virtual time when run() returned
    explicit operator bool() const noexcept { return finished; }
    // One line: what went wrong, the seed and the replay command.
    std::string describe() const;
};

enum class direction : std::uint8_t { both, one_way };

class test_network {
public:
    using body = std::function<task<void>(process&)>;

    explicit test_network(network_options opts = {});
    ~test_network();
    test_network(const test_network&) = delete;
    test_network& operator=(const test_network&) = delete;

    sim::world& world() noexcept { return world_; }
    std::uint64_t seed() const noexcept { return world_.seed(); }
    host& at(std::size_t i) const { return *world_.hosts().at(i); }
    host& a() const { return at(0); }
    host& b() const { return at(1); }
    ipv4_address address(const host& h) const;
    coronet::wire& link() noexcept { return link_; }

    // A process on `h` running `fn`; a server runs until the network goes.
    process& spawn_server(host& h, body fn, std::string name = "server");
    // A client: run() waits for every client's coroutines to end.
    process& spawn_client(host& h, body fn, std::string name = "client");
    // Runs until every client ended or the time limit; prints describe() on stderr if not.
    run_result run();

    // Writes h's traffic (all of the wire's, for two hosts) to a pcap file from now on.
    void capture(const std::filesystem::path& path) { capture(a(), path); }
    void capture(host& h, const std::filesystem::path& path);
    // All counters of a host, one "group: name value" line each; one counter (0 if none).
    std::string counters(const host& h) const { return h.counters_text(); }
    std::uint64_t counter(host& h, const std::string& group, const std::string& name) const;

    // Faults of the wire from the next frame on.
    void set_faults(const fault_config& f) { link_.faults().set_config(f); }
    // Frames from `from` to `to` (and back, for direction::both) are dropped until healed,
    // now or at a virtual time `after` from now.
    void partition(host& from, host& to, direction d = direction::both);
    void heal(host& from, host& to, direction d = direction::both);
    void partition_after(duration after, host& from, host& to, direction d = direction::both);
    void heal_after(duration after, host& from, host& to, direction d = direction::both);

    // h crashes and restarts (see the top); the _after forms at a virtual time from now.
    void crash(host& h);
    void restart(host& h);
    void crash_after(duration d, host& h);
    void restart_after(duration d, host& h);
    bool is_up(const host& h) const { return h.up(); }
    // Moves h's time of day by d (negative: back), now.
    void step_clock(host& h, duration d) { h.wall().step(d); }
    // A shaper on h's transmit path (one per host; world::shape).
    coronet::shaper& shape(host& h, shaper_config config) {
        return world_.shape(h, std::move(config));
    }

private:
    process& spawn(host& h, body fn, std::string name, bool client);
    void at_time(duration after, std::function<void()> fn);
    bool ended_by_crash(const process& p) const;

    network_options opts_;
    sim::world world_;
    coronet::wire& link_;
    ref<process> timers_; // runs the partitions set for later
    std::vector<ref<process>> servers_;
    std::vector<ref<process>> clients_;
    std::vector<ref<process>> crashed_with_host_; // terminated by crash(): not failures
    int in_loop_ = 0; // inside run() or a timed fault: crash() must not run the loop itself
    int uncaught_ = 0;
};

// Runs `scenario` twice on fresh networks of `opts` (one seed), capturing host a, and tells
// whether the two captures are identical byte for byte.
struct replay_check {
    bool identical = false;
    std::size_t first_size = 0, second_size = 0;
    std::size_t first_difference = 0; // offset of the first differing byte
    std::string describe() const;
};
replay_check run_twice(const network_options& opts,
                       const std::function<void(test_network&)>& scenario);
// The capture of host a for one run of `scenario`, as bytes.
std::string capture_of(const network_options& opts,
                       const std::function<void(test_network&)>& scenario);

} // namespace coronet::sim
