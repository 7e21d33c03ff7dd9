// The native stack on several shards: the forwarding and injection of steering.hpp.
#include "protocols/stack/native_stack.hpp"

#include "protocols/stack/header.hpp"

#include "framework/net/byte_order.hpp"
#include "protocols/arp/wire.hpp"
#include "protocols/ethernet/wire.hpp"

#include <algorithm>
#include <stdexcept>

namespace coronet::native {

namespace {
// A forwarded frame holds at most one whole IPv4 datagram (a reassembled one, a GSO frame).
constexpr std::size_t max_injected_frame = ethernet::header_length + 65535;
// As a NIC keeps in front of a received frame (wire_nic's rx_headroom, Linux's NET_SKB_PAD).
constexpr std::uint32_t injected_headroom = 64;
} // namespace

void native_stack::set_steering(unsigned me, unsigned count, forwarder fwd) {
    if (count == 0 || me >= count) throw std::invalid_argument("set_steering: shard out of range");
    if (count > 1 && !fwd) throw std::invalid_argument("set_steering: no forwarder");
    steering_.owner = {tcp::flow_owner::key_from(opts_.seed), count, me};
    steering_.forward = std::move(fwd);
    if (count > 1 && !steering_stats_)
        steering_stats_ = std::make_unique<steering_counters>(registry_);
    tcp_.set_owner(steering_.owner);
}

void native_stack::inject(interface_id id, std::span<const std::byte> frame,
                          const packet_offload& offload) {
    if (!steering_stats_) throw std::logic_error("inject: steering is off (set_steering)");
    auto& s = *steering_stats_;
    ++s.injected;
    if (frame.size() > max_injected_frame) {
        ++s.inject_dropped_too_big;
        return;
    }
    auto made = packet::allocate(*pool_, injected_headroom);
    if (!made || !made->append(frame, s.bytes_copied)) {
        ++s.inject_dropped_no_buffer;
        return;
    }
    made->meta().offload = offload;
    made->meta().timestamp_ns = sched_.now().since_epoch.count();
    injecting_ = true;
    input(at(id), std::move(*made));
    injecting_ = false;
}

bool native_stack::send_to_shard(unsigned to, const ethernet::repr& link,
                                 std::span<const std::byte> header, const packet* body,
                                 const packet_offload& offload) {
    auto& buf = steering_.scratch;
    const std::size_t body_length = body != nullptr ? body->length() : 0;
    buf.resize(ethernet::header_length + header.size() + body_length);
    ethernet::emit(link, buf);
    std::copy(header.begin(), header.end(), buf.begin() + ethernet::header_length);
    if (body != nullptr)
        (void)body->copy_out(0, std::span(buf).subspan(ethernet::header_length + header.size()));
    if (steering_.forward(to, buf, offload)) return true;
    ++steering_stats_->forward_dropped;
    return false;
}

bool native_stack::steer_tcp(interface& in, const packet& segment, const ipv4::repr& h,
                             std::span<const std::byte> raw_header) {
    // Traffic to ourselves, and frames another shard handed us, are handled here.
    if (injecting_ || is_local(h.source)) return false;
    std::array<std::byte, 4> ports;
    if (!segment.copy_out(0, ports)) return false; // too short: TCP input counts it
    const endpoint local{h.destination, port(load_be16(std::span(ports).subspan(2)))};
    const endpoint remote{h.source, port(load_be16(std::span(ports).first(2)))};
    const unsigned owner = steering_.owner.of(local, remote);
    if (owner == steering_.owner.me || tcp_.find(local, remote) != nullptr) return false;
    // The owner reads the frame as our NIC delivered it: its offload metadata counts from the
    // Ethernet header again. The source MAC is not kept; IPv4 input never reads it.
    packet_metadata meta = segment.meta();
    meta.front_pushed(static_cast<std::uint32_t>(ethernet::header_length + raw_header.size()));
    const ethernet::repr link{in.card().mac(), in.card().mac(), ethernet::ethertype::ipv4};
    if (send_to_shard(owner, link, raw_header, &segment, meta.offload))
        ++steering_stats_->tcp_forwarded_out;
    if (tracing()) trace("shard", "rx", describe(h) + ": tcp to shard " + std::to_string(owner));
    return true;
}

void native_stack::share_arp(interface& in, std::span<const std::byte> arp_packet,
                             mac_address sender) {
    const ethernet::repr link{sender, in.card().mac(), ethernet::ethertype::arp};
    for (unsigned to = 0; to < steering_.owner.count; ++to) {
        if (to == steering_.owner.me) continue;
        if (send_to_shard(to, link, arp_packet, nullptr, {})) ++steering_stats_->arp_forwarded_out;
    }
}

} // namespace coronet::native
