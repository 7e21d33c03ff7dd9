// The send path: IPv4 output (route, identification, fragmentation), next-hop resolution
// and the Ethernet header.
#include "protocols/stack/header.hpp"
#include "protocols/stack/native_stack.hpp"

#include "protocols/ipv4/fragment.hpp"

namespace coronet::native {

namespace {
// RFC 1112 §6.4: an IP host group address maps to the Ethernet multicast address
// 01-00-5E-00-00-00 plus its low-order 23 bits.
mac_address multicast_mac(ipv4_address a) noexcept {
    const auto o = a.octets();
    return {0x01, 0x00, 0x5e, static_cast<std::uint8_t>(o[1] & 0x7f), o[2], o[3]};
}
} // namespace

result<ipv4_address> native_stack::source_for(ipv4_address destination) {
    if (auto* local = local_interface(destination)) return local->address().address();
    if (destination.is_broadcast() && !interfaces_.empty())
        return interfaces_.front()->address().address();
    auto hop = routes_.lookup(destination);
    if (!hop) return error{ENETUNREACH};
    return interfaces_[hop->interface]->address().address();
}

result<> native_stack::output(packet&& datagram, ipv4_address source, ipv4_address destination) {
    return output(std::move(datagram), ip_send{source, destination, ipv4::protocol::udp});
}

result<tcp::path> native_stack::route(ipv4_address destination) {
    const interface* out = local_interface(destination);
    if (out == nullptr) {
        auto hop = routes_.lookup(destination);
        if (!hop) return error{ENETUNREACH};
        out = interfaces_[hop->interface].get();
    }
    const auto& f = out->card().features();
    return tcp::path{out->address().address(), out->card().mtu(), f.tx_checksum_offload, f.tso};
}

result<> native_stack::send_segment(packet&& segment, ipv4_address source, ipv4_address destination) {
    // tcp::network's contract: ENOBUFS for a full queue only (TCP is told when it has room
    // again); a header that found the pool empty is ENOMEM (the pool tells TCP).
    queue_refused_ = false;
    auto r = output(std::move(segment), ip_send{source, destination, ipv4::protocol::tcp});
    if (!r && r.error() == ENOBUFS && !queue_refused_) return error{ENOMEM};
    return r;
}

result<> native_stack::output(packet&& payload, const ip_send& send) {
    auto& s = stats_.ipv4;
    ++s.out_requests;
    if (payload.length() + ipv4::min_header_length > ipv4::max_packet_length) {
        ++s.out_discards;
        return error{EMSGSIZE};
    }
    ipv4::repr h;
    h.source = send.source;
    h.destination = send.destination;
    h.protocol = send.protocol;
    h.ttl = send.ttl != 0 ? send.ttl : opts_.ttl;
    h.dont_fragment = send.dont_fragment;
    // RFC 6864 §4.1: unique per (source, destination, protocol); see ident.hpp.
    h.identification = idents_.next(h.source, h.destination, static_cast<std::uint8_t>(h.protocol));
    h.payload_length = static_cast<std::uint16_t>(payload.length());

    // To ourselves: the datagram loops back into the receive path, unfragmented, from the
    // loopback DPC.
    if (interface* local = local_interface(send.destination)) {
        if (loopback_.size() >= loopback_limit) {
            ++s.out_discards;
            queue_refused_ = loopback_refused_ = true;
            if (tracing()) trace("ipv4", "tx", describe(h) + ": loopback queue full");
            return error{ENOBUFS};
        }
        auto room = payload.push_header(ipv4::min_header_length);
        if (!room) {
            ++s.out_discards;
            return error{room.error()};
        }
        ipv4::emit(h, *room);
        if (tracing()) trace("ipv4", "tx", describe(h) + ": loopback");
        loopback_.emplace_back(local, std::move(payload));
        sched_.queue_dpc(loopback_dpc_);
        return {};
    }
    interface* out = nullptr;
    ipv4_address next_hop = send.destination;
    if (send.destination.is_broadcast()) {
        out = local_interface(send.source);
        if (out == nullptr && !interfaces_.empty()) out = interfaces_.front().get();
    } else if (auto hop = routes_.lookup(send.destination)) {
        out = interfaces_[hop->interface].get();
        next_hop = hop->address;
    }
    if (out == nullptr) {
        ++s.out_no_routes;
        if (tracing()) trace("ipv4", "tx", describe(h) + ": no route");
        return error{ENETUNREACH};
    }
    return send_datagram(*out, next_hop, std::move(payload), h);
}

result<> native_stack::send_datagram(interface& out, ipv4_address next_hop, packet&& payload,
                                     const ipv4::repr& h) {
    auto& s = stats_.ipv4;
    const std::size_t mtu = out.card().mtu();
    // A large segment for the NIC to cut (TSO) leaves whole: each of its segments fits.
    const bool nic_segments = payload.meta().offload.gso_type != packet_offload::gso_none;
    if (payload.length() + ipv4::min_header_length <= mtu || nic_segments) [[likely]] {
        auto room = payload.push_header(ipv4::min_header_length);
        if (!room) {
            ++s.out_discards;
            return error{room.error()};
        }
        ipv4::emit(h, *room);
        if (tracing()) trace("ipv4", "tx", describe(h) + ": via " + out.card().name());
        return link_output(out, next_hop, std::move(payload));
    }
    // RFC 791 §2.3: a datagram with DF set is not fragmented; the sender learns EMSGSIZE.
    if (h.dont_fragment) {
        ++s.frag_fails;
        if (tracing()) trace("ipv4", "tx", describe(h) + ": too big, DF set");
        return error{EMSGSIZE};
    }
    if (tracing()) trace("ipv4", "tx", describe(h) + ": fragmenting for mtu " + std::to_string(mtu));
    auto n = ipv4::fragment(std::move(payload), h, mtu, [&](packet&& f) -> result<> {
        ++s.frag_creates;
        return link_output(out, next_hop, std::move(f));
    });
    if (!n) {
        ++s.frag_fails;
        return error{n.error()};
    }
    ++s.frag_oks;
    return {};
}

result<> native_stack::link_output(interface& out, ipv4_address next_hop, packet&& ip_packet) {
    if (out.is_broadcast(next_hop))
        return transmit(out, std::move(ip_packet), mac_broadcast, ethernet::ethertype::ipv4);
    if (next_hop.is_multicast())
        return transmit(out, std::move(ip_packet), multicast_mac(next_hop),
                        ethernet::ethertype::ipv4);
    if (const mac_address* mac = out.arp().lookup(next_hop)) [[likely]]
        return transmit(out, std::move(ip_packet), *mac, ethernet::ethertype::ipv4);
    if (tracing()) trace("arp", "tx", "resolving " + to_string(next_hop) + ": packet queued");
    out.arp().resolve(next_hop, std::move(ip_packet));
    return {};
}

result<> native_stack::transmit(interface& out, packet&& payload, mac_address destination,
                                ethernet::ethertype type) {
    if (auto r = ethernet::output(payload, out.card().mac(), destination, type); !r) {
        ++stats_.ethernet.out_errors;
        return r;
    }
    if (tracing())
        trace("ethernet", "tx", out.card().name() + " > " + to_string(destination) + " len " +
                                    std::to_string(payload.length()));
    if (auto r = transmit_within_gather_limit(out, std::move(payload)); !r) {
        ++stats_.ethernet.out_errors;
        if (r.error() == ENOBUFS) {
            queue_refused_ = true;
            out.wait_for_tx_room();
        }
        return r;
    }
    ++stats_.ethernet.out_frames;
    return {};
}

bool native_stack::loopback_dpc::deliver(dpc* d, unsigned budget) {
    native_stack& st = *static_cast<loopback_dpc*>(d)->stack;
    for (unsigned i = 0; i < budget && !st.loopback_.empty(); ++i) {
        auto [in, p] = std::move(st.loopback_.front());
        st.loopback_.pop_front();
        st.ipv4_input(*in, std::move(p));
    }
    if (st.loopback_refused_ && st.loopback_.size() < loopback_limit) {
        st.loopback_refused_ = false;
        st.tcp_.transmit_room();
    }
    return !st.loopback_.empty();
}

} // namespace coronet::native
