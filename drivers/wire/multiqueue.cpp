#include "drivers/wire/multiqueue.hpp"

#include "drivers/faults/frame_copy.hpp"
#include "framework/net/byte_order.hpp"

#include <array>
#include <stdexcept>

namespace coronet {

namespace {

// The Ethernet, IPv4 and TCP/UDP header fields the flow hash reads (the driver knows offsets,
// not protocols, as a NIC's RSS engine does).
constexpr std::size_t ethertype_at = 12;
constexpr std::size_t ip_at = 14;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint8_t proto_tcp = 6, proto_udp = 17;
constexpr std::size_t max_peek = ip_at + 60 + 4; // the longest IPv4 header, then two ports

std::uint64_t mix(std::uint64_t z) noexcept { // splitmix64's finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

} // namespace

// --- queue_nic ---

queue_nic::queue_nic(multiqueue_port& port, scheduler& sched, unsigned index,
                     counter_registry& registry, nic_config config, buffer_pool& pool,
                     std::uint32_t ring_size)
    : nic(sched, registry, std::move(config)), port_(&port), index_(index), pool_(pool),
      ring_(ring_size) {}

result<> queue_nic::driver_transmit(packet&& frame) {
    if (port_ == nullptr) return error{ENETDOWN};
    return port_->transmit(index_, std::move(frame));
}

bool queue_nic::driver_poll(unsigned budget) {
    for (unsigned n = 0; n < budget && !ring_.empty(); ++n)
        deliver(ring_.pop());
    return !ring_.empty();
}

bool queue_nic::receive(packet&& frame) {
    if (ring_.full()) return false;
    ring_.push(std::move(frame));
    raise_interrupt();
    return true;
}

// --- multiqueue_port ---

multiqueue_port::multiqueue_port(wire& w, counter_registry& registry, nic_config config,
                                 buffer_pool& port_pool, std::span<const queue_setup> queues,
                                 multiqueue_options options)
    : port_(w.attach(registry, config, port_pool)), options_(options),
      stats_(registry, config.name + "_queues"), room_(port_.tx_ready(), &on_room, this) {
    if (queues.empty()) throw std::invalid_argument("multiqueue_port: no queues");
    for (unsigned i = 0; i < queues.size(); ++i) {
        nic_config qc = config;
        qc.name = config.name + "q" + std::to_string(i);
        scheduler& s = queues[i].sched != nullptr ? *queues[i].sched : port_.sched();
        queues_.push_back(make_object<queue_nic>(*this, s, i, *queues[i].registry, std::move(qc),
                                                 *queues[i].pool, options.rx_ring_size));
    }
    port_.attach(&dispatch_);
}

multiqueue_port::~multiqueue_port() {
    port_.attach(nullptr);
    for (auto& q : queues_)
        q->port_ = nullptr; // a stack still holding a queue sends nothing
}

std::uint32_t multiqueue_port::flow_hash(const flow_key& f) const noexcept {
    const auto word = [](const endpoint& e) {
        return std::uint64_t{e.address.to_uint()} << 16 | e.port.value();
    };
    const std::uint64_t x = word(f.a), y = word(f.b);
    const std::uint64_t lo = std::min(x, y), hi = std::max(x, y);
    std::uint64_t h = mix(options_.seed ^ lo);
    h = mix(h ^ hi);
    h = mix(h ^ f.protocol);
    return static_cast<std::uint32_t>(h);
}

std::uint32_t multiqueue_port::frame_hash(const packet& frame) const noexcept {
    std::array<std::byte, max_peek> b{};
    const std::size_t n = std::min(frame.length(), b.size());
    (void)frame.copy_out(0, std::span(b).first(n));
    const auto bytes = std::span<const std::byte>(b).first(n);
    const bool ipv4 = n >= ip_at + 20 && load_be16(bytes.subspan(ethertype_at)) == ethertype_ipv4;
    const std::size_t ihl = ipv4 ? (std::to_integer<std::size_t>(bytes[ip_at]) & 0x0f) * 4 : 0;
    if (!ipv4 || ihl < 20 || n < ip_at + ihl) { // by the source MAC: ARP, runts, the rest
        std::uint64_t mac = 0;
        for (std::size_t i = 6; i < 12 && i < n; ++i)
            mac = mac << 8 | std::to_integer<std::uint64_t>(bytes[i]);
        return static_cast<std::uint32_t>(mix(options_.seed ^ mac ^ 0x6d6163));
    }
    flow_key f;
    f.protocol = std::to_integer<std::uint8_t>(bytes[ip_at + 9]);
    f.a.address = ipv4_address{load_be32(bytes.subspan(ip_at + 12))};
    f.b.address = ipv4_address{load_be32(bytes.subspan(ip_at + 16))};
    const bool fragment = (load_be16(bytes.subspan(ip_at + 6)) & 0x3fff) != 0;
    if (!fragment && (f.protocol == proto_tcp || f.protocol == proto_udp) && n >= ip_at + ihl + 4) {
        f.a.port = coronet::port(load_be16(bytes.subspan(ip_at + ihl)));
        f.b.port = coronet::port(load_be16(bytes.subspan(ip_at + ihl + 2)));
    }
    return flow_hash(f);
}

unsigned multiqueue_port::hash_queue(const flow_key& f) const noexcept {
    return flow_hash(f) % queue_count();
}

unsigned multiqueue_port::queue_for(const flow_key& f) const {
    const auto h = flow_hash(f);
    if (auto it = flows_.find(h); it != flows_.end()) return it->second;
    return h % queue_count();
}

void multiqueue_port::steer(const flow_key& f, unsigned q) { learn(flow_hash(f), q); }

void multiqueue_port::learn(std::uint32_t hash, unsigned q) {
    if (auto it = flows_.find(hash); it != flows_.end()) {
        it->second = q;
    } else if (flows_.size() < options_.max_flows) {
        flows_.emplace(hash, q);
    } else {
        ++stats_.flow_table_full;
    }
}

result<> multiqueue_port::transmit(unsigned from, packet&& frame) {
    learn(frame_hash(frame), from);
    auto r = port_.transmit(std::move(frame));
    if (!r && r.error() == ENOBUFS) room_.arm();
    return r;
}

void multiqueue_port::on_room(void* self) {
    for (auto& q : static_cast<multiqueue_port*>(self)->queues_)
        q->room();
}

result<> multiqueue_port::dispatcher::push(packet&& frame) {
    auto& p = *self;
    const auto h = p.frame_hash(frame);
    unsigned q = h % p.queue_count();
    if (auto it = p.flows_.find(h); it != p.flows_.end()) {
        q = it->second;
        ++p.stats_.rx_by_flow_table;
    } else {
        ++p.stats_.rx_by_hash;
    }
    queue_nic& to = *p.queues_[q];
    auto copy = copy_frame(frame, to.pool(), static_cast<std::uint32_t>(frame.headroom()),
                           p.stats_.bytes_copied);
    if (!copy) {
        ++p.stats_.rx_dropped_no_buffer;
        return error{ENOBUFS};
    }
    copy->meta() = frame.meta();
    if (!to.receive(std::move(*copy))) {
        ++p.stats_.rx_dropped_no_buffer;
        return error{ENOBUFS};
    }
    return {};
}

} // namespace coronet
