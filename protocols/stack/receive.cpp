// The receive path: Ethernet, ARP and IPv4 input, up to the transports.
#include "protocols/stack/header.hpp"
#include "protocols/stack/native_stack.hpp"

#include "protocols/arp/wire.hpp"
#include "protocols/checksum/checksum.hpp"

namespace coronet::native {

void native_stack::input(interface& in, packet&& frame) {
    const std::size_t length = frame.length();
    const auto d = ethernet::input(frame, in.filter(), stats_.ethernet);
    if (tracing()) [[unlikely]]
        trace("ethernet", "rx", std::string(in.card().name()) + " len " +
                                    std::to_string(length) + ": " +
                                    std::string(ethernet::name(d)));
    if (d == ethernet::input_decision::ipv4) [[likely]]
        ipv4_input(in, std::move(frame));
    else if (d == ethernet::input_decision::arp)
        arp_input(in, frame);
}

void native_stack::arp_input(interface& in, const packet& p) {
    std::array<std::byte, arp::packet_length> bytes;
    const auto n = std::min(p.length(), bytes.size());
    (void)p.copy_out(0, std::span(bytes).first(n));
    auto r = arp::parse(std::span<const std::byte>(bytes).first(n));
    if (!r) {
        ++stats_.arp.in_errors;
        if (tracing()) trace("arp", "rx", "malformed: " + std::string(arp::name(r.reason())));
        return;
    }
    if (tracing())
        trace("arp", "rx",
              std::string(r->operation == arp::operation::request ? "who-has " : "reply ") +
                  to_string(r->target_ip) + " tell " + to_string(r->sender_ip) + " is-at " +
                  to_string(r->sender_mac));
    if (!steering_.on()) [[likely]]
        return in.arp().input(*r);
    if (injecting_) return in.arp().learn(*r);
    in.arp().input(*r);
    share_arp(in, std::span<const std::byte>(bytes).first(n), r->sender_mac);
}

void native_stack::ipv4_input(interface& in, packet&& p) {
    auto& s = stats_.ipv4;
    ++s.in_receives;
    auto drop = [&](counter& c, std::string_view why) {
        ++c;
        if (tracing()) trace("ipv4", "rx", std::string("dropped: ") + std::string(why));
    };
    auto first = p.front(ipv4::min_header_length);
    if (!first) {
        if (first.error() == packet::too_short.code) return drop(s.in_truncated_pkts, "truncated");
        return drop(s.in_hdr_errors, "header not contiguous");
    }
    const auto fixed = ipv4::view::unchecked(*first);
    if (fixed.version() != 4) return drop(s.in_hdr_errors, "bad version");
    const std::size_t ihl = fixed.header_length();
    if (ihl < ipv4::min_header_length) return drop(s.in_hdr_errors, "bad header length");
    auto whole = ihl == ipv4::min_header_length ? first : p.front(ihl); // options are rare
    if (!whole) {
        if (whole.error() == packet::too_short.code) return drop(s.in_truncated_pkts, "truncated");
        return drop(s.in_hdr_errors, "header not contiguous");
    }
    // A copy of the header: pulling it may free the buffer it lies in (a chain).
    std::array<std::byte, ipv4::max_header_length> header_copy;
    std::copy(whole->begin(), whole->end(), header_copy.begin());
    const auto raw = std::span<const std::byte>(header_copy).first(ihl);
    const auto v = ipv4::view::unchecked(raw);
    const std::size_t total = v.total_length();
    if (total < ihl) return drop(s.in_hdr_errors, "bad total length");
    if (total > p.length()) return drop(s.in_truncated_pkts, "truncated");
    // RFC 791 §3.1: the header checksum covers the header, options included. A NIC that
    // verified checksums (data_valid) has done it.
    const bool offloaded = (p.meta().offload.flags & packet_offload::data_valid) != 0;
    if (!offloaded && !checksum::verify(raw)) {
        ++s.in_csum_errors;
        return drop(s.in_hdr_errors, "bad checksum");
    }
    const ipv4::repr h = header_fields(v);
    // RFC 1122 §3.2.1.3: a source that is a broadcast or multicast address is discarded.
    if (h.source.is_broadcast() || h.source.is_multicast() || in.is_broadcast(h.source))
        return drop(s.in_addr_errors, "bad source address");
    p.trim(total); // Ethernet padding
    if (local_interface(h.destination) != nullptr || in.is_broadcast(h.destination)) {
        if (tracing()) trace("ipv4", "rx", describe(h) + ": local delivery");
        return local_delivery(in, std::move(p), h, raw);
    }
    if (!forwarding_) return drop(s.in_addr_errors, describe(h) + ": not ours, forwarding off");
    forward(in, std::move(p), h, raw);
}

void native_stack::local_delivery(interface& in, packet&& p, const ipv4::repr& h,
                                  std::span<const std::byte> raw_header) {
    if (!h.more_fragments && h.fragment_offset == 0) [[likely]] {
        (void)p.pull_header(raw_header.size());
        return transport_input(in, std::move(p), h, raw_header);
    }
    ++stats_.ipv4.reasm_reqds;
    (void)p.pull_header(raw_header.size());
    auto whole = reassembly_.input(h, raw_header, std::move(p));
    if (!whole) {
        if (tracing()) trace("ipv4", "rx", describe(h) + ": fragment held for reassembly");
        return;
    }
    // The datagram's own header, as if it had come whole: what an ICMP error would quote.
    std::array<std::byte, ipv4::min_header_length> header;
    ipv4::emit(whole->header, header);
    whole->payload.meta().offload = {}; // no NIC verified a checksum over fragments
    if (tracing()) trace("ipv4", "rx", describe(whole->header) + ": reassembled");
    transport_input(in, std::move(whole->payload), whole->header, header);
}

namespace {
// Whether a transport checksum needs no check: the NIC verified it (data_valid), or the frame
// came from a local sender that left it to offload (needs_csum: virtio's partial checksum, as
// the kernel hands TAP frames it sent itself; Linux treats CHECKSUM_PARTIAL as valid too).
bool transport_checksum_trusted(const packet& p) noexcept {
    return (p.meta().offload.flags & (packet_offload::data_valid | packet_offload::needs_csum)) != 0;
}
} // namespace

void native_stack::transport_input(interface& in, packet&& p, const ipv4::repr& h,
                                   std::span<const std::byte> raw_header) {
    ++stats_.ipv4.in_delivers;
    switch (h.protocol) {
    case ipv4::protocol::udp: {
        const auto r = udp_.input(p, h.source, h.destination, transport_checksum_trusted(p));
        if (tracing())
            trace("udp", "rx",
                  describe(h) + (r == udp::input_result::delivered ? ": queued"
                                 : r == udp::input_result::no_port ? ": no port"
                                                                    : ": dropped"));
        // RFC 1122 §4.1.3.1: a datagram to a port nobody listens on is answered with port
        // unreachable, unless it was a broadcast.
        if (r == udp::input_result::no_port && !in.is_broadcast(h.destination))
            send_icmp_error(icmp::message::destination_unreachable, icmp::unreachable::port,
                            quote_buffer(raw_header, p).span(), h.destination);
        return;
    }
    case ipv4::protocol::tcp: {
        if (steering_.on() && steer_tcp(in, p, h, raw_header)) return;
        const bool valid = transport_checksum_trusted(p);
        return tcp_.input(std::move(p), h.source, h.destination, valid);
    }
    case ipv4::protocol::icmp:
        return icmp_input(in, std::move(p), h);
    default:
        ++stats_.ipv4.in_unknown_protos;
        if (tracing()) trace("ipv4", "rx", describe(h) + ": unknown protocol");
        if (!in.is_broadcast(h.destination))
            send_icmp_error(icmp::message::destination_unreachable, icmp::unreachable::protocol,
                            quote_buffer(raw_header, p).span(), h.destination);
        return;
    }
}

} // namespace coronet::native
