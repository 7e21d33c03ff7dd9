#include "protocols/sim/world.hpp"

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
    : name_(std::move(name)), index_(index), pool_(opts.pool) {
    opts.stack.pool = &pool_;
    stack_ = std::make_unique<native::native_stack>(s, counters_, opts.stack);
}

world::world(world_options opts)
    : seed_(opts.seed), seed_state_(opts.seed), sched_(scheduler::options{.time_source = &clock_}) {}

world::~world() {
    // Buffers travel between hosts: a packet of one host's pool may sit in a stack, on a
    // wire or in another host's NIC ring. So: taps off, then every stack (they refer to
    // NICs), then the wires with their NICs and frames in flight, and the pools last.
    captures_.clear();
    for (auto& h : hosts_) h->stack_.reset();
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
    h.stack_->add_interface(card, address);
    return card;
}

void world::capture(nic& n, const std::filesystem::path& path) {
    pcap_files_.push_back(std::make_unique<pcap_writer>(path));
    captures_.push_back(std::make_unique<coronet::capture>(n, *pcap_files_.back()));
    captures_.back()->start();
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
