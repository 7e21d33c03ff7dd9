#pragma once
// The simulation world: native hosts joined by in-memory wires, all on one virtual clock,
// in one process. Tests (coronet's and users' own) build a small network, run coroutine
// servers and clients on its hosts, and read what happened: counters, pcap captures,
// bytes received. Nothing in it reads the wall clock or an unseeded random source, so a
// seed replays a run exactly, byte for byte; and since the scheduler jumps time to the
// next timer when every coroutine waits, a minute of TCP timeouts takes microseconds.
//
//   sim::world w({.seed = 7});
//   auto& a = w.add_host("a");
//   auto& b = w.add_host("b");
//   auto& link = w.add_wire({.latency = 1ms, .faults = {.loss = 0.01}});
//   w.connect(a, link, *ipv4_prefix::parse("10.0.0.1/24"));
//   w.connect(b, link, *ipv4_prefix::parse("10.0.0.2/24"));
//   auto rtt = w.run(a.stack().ping(ipv4_address(10, 0, 0, 2)));
//
// Lifetimes: the world owns its clock, scheduler, wires and hosts; it destroys the stacks,
// then the shapers, then the wires (with their NICs and frames in flight), then the hosts'
// buffer pools. Processes created on a host must have ended before the world is destroyed.
//
// Crashes. crash(h) destroys h's stack at once: its sockets are cut loose without a segment
// sent (no FIN, no RST: the power went), its timers disarmed, and the NIC, left without a
// receiver, drops what arrives (nic counter rx_dropped_no_receiver). Every process made with
// h.create_process() is terminated and forgets the stack, so a coroutine it still runs gets
// ENETDOWN or ECANCELED, never a freed stack. The host keeps its NICs, pool, counter registry
// and wall clock. restart(h) boots a new stack on the same NICs with the same addresses and
// MACs (the peers' ARP caches stay right) and a new seed (new ISNs and ephemeral ports): a
// segment of a connection from before the crash meets no socket and is answered with a RST.
// The old stack's counter groups leave the registry with it; the new one's start at zero.
// Routes, gateways and settings made on the old stack (add_route, set_trace...) are gone, as
// after a reboot: set them again.
#include "drivers/capture/capture.hpp"
#include "drivers/capture/pcap_writer.hpp"
#include "drivers/shaper/shaper.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/clock.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/scheduler.hpp"
#include "framework/wall_clock.hpp"
#include "protocols/stack/native_stack.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace coronet::sim {

struct host_options {
    native::options stack{};
    buffer_pool_options pool{.buffer_size = 2048, .buffer_count = 4096};
};

class host {
public:
    host(scheduler& s, std::string name, std::size_t index, host_options opts);
    host(const host&) = delete;
    host& operator=(const host&) = delete;

    const std::string& name() const noexcept { return name_; }
    std::size_t index() const noexcept { return index_; }
    // Its stack; std::logic_error while the host is down (crashed, not restarted).
    native::native_stack& stack();
    bool up() const noexcept { return stack_ != nullptr; }
    // How many times it was restarted.
    unsigned boots() const noexcept { return boots_; }
    counter_registry& counters() noexcept { return counters_; }
    buffer_pool& pool() noexcept { return pool_; }
    // The NICs of this host, in the order connect() made them (eth0, eth1, ...).
    nic& nic_at(std::size_t i) const { return *nics_.at(i); }
    std::size_t nic_count() const noexcept { return nics_.size(); }

    // A process whose socket calls go to this host's stack (ENETDOWN while the host is down).
    // The host remembers it, to terminate it if it crashes.
    ref<process> create_process(std::string name);
    // Its time of day (process::wall_time() reads it): a fixed start plus virtual time plus
    // the steps made; step() it to move this host's clock alone.
    offset_wall_clock& wall() noexcept { return wall_; }
    // All counters of the host, one "group: name value" line each.
    std::string counters_text() const { return counters_.dump(); }

private:
    friend class world;
    // A new stack on the host's NICs, with the seed of this boot.
    void boot();

    std::string name_;
    std::size_t index_;
    scheduler& sched_;
    host_options opts_;
    unsigned boots_ = 0;
    offset_wall_clock wall_;
    counter_registry counters_;
    buffer_pool pool_;
    std::unique_ptr<native::native_stack> stack_;
    std::vector<nic*> nics_;
    std::vector<ipv4_prefix> addresses_; // of each NIC, for a restart
    std::vector<ref<process>> processes_; // made by create_process and not ended
};

struct world_options {
    std::uint64_t seed = 1;
};

class world {
public:
    explicit world(world_options opts = {});
    ~world();
    world(const world&) = delete;
    world& operator=(const world&) = delete;

    virtual_clock& clock() noexcept { return clock_; }
    scheduler& sched() noexcept { return sched_; }
    time_point now() const noexcept { return clock_.now(); }
    std::uint64_t seed() const noexcept { return seed_; }

    // A host with a native stack and a buffer pool of its own; its stack's seed is drawn
    // from the world's unless the options set one other than the default.
    host& add_host(std::string name, host_options opts = {});
    // A wire; its fault seed is drawn from the world's unless the config sets one.
    wire& add_wire(wire_config config = {});
    // Puts `h` on `w` with `address`: a new NIC ethN (MAC 02:00:00:HH:NN:01 from the host
    // and NIC numbers) and an interface of the host's stack. Returns the NIC. `features`:
    // the offloads the NIC offers (none by default: the stack sums and segments itself);
    // {.tx_checksum_offload, .tso, .rx_gso} on both ends makes the wire pass 64 KiB TSO
    // frames whole, like Linux's loopback (wire.hpp).
    nic& connect(host& h, wire& w, ipv4_prefix address, std::uint32_t mtu = 1500,
                 nic_features features = {});
    // Writes both directions of a NIC to a pcap file, from now until the world ends.
    void capture(nic& n, const std::filesystem::path& path);
    // A token-bucket shaper (drivers/shaper) on the transmit path of h's NIC `index`, from now
    // until the world ends; its counters in h's registry, group "ethN_shaper" unless the
    // config names one. One per NIC: a second is a std::logic_error.
    shaper& shape(host& h, shaper_config config, std::size_t index = 0);

    // h stops dead, and boots again (see the top). crash() of a host that is down does
    // nothing; restart() of a host that is up is a std::logic_error. crash() returns the
    // processes it terminated; their coroutines end at the loop's next turns.
    std::vector<ref<process>> crash(host& h);
    void restart(host& h);

    // Runs the loop until a task (or any awaitable: a join, a wait) finishes and returns
    // its value (or rethrows).
    template <class Awaitable>
    decltype(auto) run(Awaitable&& a) {
        return sched_.run(std::forward<Awaitable>(a));
    }
    // Runs until pred() holds or `limit` of virtual time passes; false on the limit.
    bool run_until(const std::function<bool()>& pred, duration limit);
    // Lets `d` of virtual time pass, running whatever happens meanwhile.
    void run_for(duration d);
    // Runs until every coroutine waits and no timer is armed.
    void run_until_idle() { sched_.run_until_idle(); }

    const std::vector<std::unique_ptr<wire>>& wires() const noexcept { return wires_; }
    const std::vector<std::unique_ptr<host>>& hosts() const noexcept { return hosts_; }

private:
    std::uint64_t draw_seed();

    std::uint64_t seed_;
    std::uint64_t seed_state_;
    virtual_clock clock_;
    scheduler sched_;
    // Declared before the hosts: destroyed after them, since stacks refer to NICs.
    std::vector<std::unique_ptr<wire>> wires_;
    std::vector<std::unique_ptr<pcap_writer>> pcap_files_;
    // Destroyed after the stacks (which transmit through them), before the wires and pools.
    std::vector<std::pair<nic*, std::unique_ptr<shaper>>> shapers_;
    std::vector<std::unique_ptr<host>> hosts_;
    std::vector<std::unique_ptr<coronet::capture>> captures_;
};

} // namespace coronet::sim
