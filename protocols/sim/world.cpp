#include "protocols/sim/world.hpp"

#include <algorithm>
#include <stdexcept>

namespace coronet::sim {

namespace {
// splitmix64: turns the world's seed into independent seeds for hosts and wires.
std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
} // namespace

host::host(scheduler& s, std::string name, std::size_t index, host_options opts)
    : name_(std::move(name)), index_(index), sched_(s), opts_(std::move(opts)), wall_(s.clock()),
      pool_(opts_.pool) {
    boot();
}

void host::boot() {
    auto o = opts_.stack;
    o.pool = &pool_;
    o.wall = &wall_;
    // Boot 0 keeps the seed as given (a replay of a run without crashes is unchanged); each
    // restart derives another, as a rebooted kernel draws new ISN and port secrets.
    if (boots_ != 0) {
        std::uint64_t state = o.seed + boots_;
        o.seed = splitmix(state);
    }
    stack_ = std::make_unique<native::native_stack>(sched_, counters_, o);
    for (std::size_t i = 0; i < nics_.size(); ++i)
        stack_->add_interface(*nics_[i], addresses_[i]);
}

native::native_stack& host::stack() {
    if (!stack_) throw std::logic_error("coronet sim: host " + name_ + " is down");
    return *stack_;
}

ref<process> host::create_process(std::string name) {
    std::erase_if(processes_, [](const ref<process>& p) { return !p->alive(); });
    auto p = process::create(name_ + "/" + name, stack_.get());
    processes_.push_back(p);
    return p;
}

world::world(world_options opts)
    : seed_(opts.seed), seed_state_(opts.seed), sched_(scheduler::options{.time_source = &clock_}) {}

world::~world() {
    // Buffers travel between hosts: a packet of one host's pool may sit in a stack, on a
    // wire or in another host's NIC ring. So: taps off, then every stack (they refer to
    // NICs), then the wires with their NICs and frames in flight, and the pools last.
    captures_.clear();
    for (auto& h : hosts_) {
        h->processes_.clear(); // still running ones keep themselves alive
        h->stack_.reset();
    }
    shapers_.clear();
    wires_.clear();
    hosts_.clear();
}

std::uint64_t world::draw_seed() { return splitmix(seed_state_); }

host& world::add_host(std::string name, host_options opts) {
    auto seed = draw_seed();
    if (opts.stack.seed == native::options{}.seed) opts.stack.seed = seed;
    hosts_.push_back(std::make_unique<host>(sched_, std::move(name), hosts_.size(), std::move(opts)));
    return *hosts_.back();
}

wire& world::add_wire(wire_config config) {
    auto seed = draw_seed();
    if (config.seed == wire_config{}.seed) config.seed = seed;
    if (config.name == wire_config{}.name) config.name = "wire" + std::to_string(wires_.size());
    wires_.push_back(std::make_unique<wire>(sched_, std::move(config)));
    return *wires_.back();
}

nic& world::connect(host& h, wire& w, ipv4_prefix address, std::uint32_t mtu,
                    nic_features features) {
    auto n = h.nics_.size();
    nic_config nc;
    nc.name = "eth" + std::to_string(n);
    nc.mac = mac_address{0x02, 0x00, 0x00, static_cast<std::uint8_t>(h.index_ + 1), static_cast<std::uint8_t>(n), 0x01};
    nc.mtu = mtu;
    nc.features = features;
    wire_nic& card = w.attach(h.counters_, nc, h.pool_);
    h.nics_.push_back(&card);
    h.addresses_.push_back(address);
    if (h.stack_) h.stack_->add_interface(card, address); // else the restart adds it
    return card;
}

void world::capture(nic& n, const std::filesystem::path& path) {
    pcap_files_.push_back(std::make_unique<pcap_writer>(path));
    captures_.push_back(std::make_unique<coronet::capture>(n, *pcap_files_.back()));
    captures_.back()->start();
}

shaper& world::shape(host& h, shaper_config config, std::size_t index) {
    nic& n = h.nic_at(index);
    if (std::any_of(shapers_.begin(), shapers_.end(), [&](const auto& s) { return s.first == &n; }))
        throw std::logic_error("coronet sim: " + h.name() + "/" + n.name() + " has a shaper");
    if (config.name == shaper_config{}.name) config.name = n.name() + "_shaper";
    shapers_.emplace_back(&n, std::make_unique<shaper>(sched_, h.counters_, std::move(config)));
    shaper& s = *shapers_.back().second;
    n.add_tx_stage(s);
    s.wake_on_space(n.tx_ready());
    return s;
}

std::vector<ref<process>> world::crash(host& h) {
    std::vector<ref<process>> ended;
    if (!h.stack_) return ended;
    // The stack first: closing the processes' sockets afterwards finds them cut loose, so
    // not a FIN or RST leaves, and nothing they run later can reach the stack.
    h.stack_.reset();
    for (auto& p : h.processes_) {
        if (!p->alive()) continue;
        p->detach_stack();
        p->terminate("host " + h.name() + " crashed");
        ended.push_back(p);
    }
    h.processes_.clear();
    return ended;
}

void world::restart(host& h) {
    if (h.stack_)
        throw std::logic_error("coronet sim: restart of host " + h.name() +
                               ", which is up: crash it first");
    ++h.boots_;
    h.boot();
}

bool world::run_until(const std::function<bool()>& pred, duration limit) {
    // A timer at the limit guarantees the loop reaches it even if nothing else happens.
    timer_entry deadline([](timer_entry*) {});
    auto until = clock_.now() + limit;
    sched_.timers().add(deadline, until);
    sched_.run_until([&] { return pred() || clock_.now() >= until; });
    return pred();
}

void world::run_for(duration d) {
    auto until = clock_.now() + d;
    run_until([&] { return clock_.now() >= until; }, d);
}

} // namespace coronet::sim
