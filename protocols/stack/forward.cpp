// Forwarding between interfaces (a router), when switched on.
#include "protocols/stack/header.hpp"
#include "protocols/stack/native_stack.hpp"

#include "protocols/checksum/checksum.hpp"
#include "protocols/ipv4/fragment.hpp"

namespace coronet::native {

void native_stack::forward(interface& in, packet&& p, const ipv4::repr& h,
                           std::span<const std::byte> raw_header) {
    auto& s = stats_.ipv4;
    const std::size_t ihl = raw_header.size();
    // RFC 1812 §5.3.1: a datagram whose TTL would reach zero is discarded, and the router
    // sends ICMP time exceeded (code 0) to its source. Counted as a header error, as Linux.
    if (h.ttl <= 1) {
        ++s.in_hdr_errors;
        if (tracing()) trace("ipv4", "fwd", describe(h) + ": ttl exceeded");
        send_icmp_error(icmp::message::time_exceeded, icmp::exceeded::ttl,
                        quote_buffer(raw_header, p, ihl).span(), in.address().address());
        return;
    }
    auto hop = routes_.lookup(h.destination);
    if (!hop) {
        ++s.out_no_routes;
        if (tracing()) trace("ipv4", "fwd", describe(h) + ": no route");
        send_icmp_error(icmp::message::destination_unreachable, icmp::unreachable::net,
                        quote_buffer(raw_header, p, ihl).span(), in.address().address());
        return;
    }
    interface& out = *interfaces_[hop->interface];
    const std::size_t mtu = out.card().mtu();
    if (p.length() > mtu && h.dont_fragment) {
        // RFC 1191 §4: fragmentation needed, with the next hop's MTU.
        ++s.frag_fails;
        if (tracing()) trace("ipv4", "fwd", describe(h) + ": too big, DF set");
        send_icmp_error(icmp::message::destination_unreachable,
                        icmp::unreachable::fragmentation_needed,
                        quote_buffer(raw_header, p, ihl).span(), in.address().address(),
                        static_cast<std::uint16_t>(mtu));
        return;
    }
    ++s.forw_datagrams;
    if (tracing())
        trace("ipv4", "fwd", describe(h) + ": via " + out.card().name() + " next hop " +
                                 to_string(hop->address));
    (void)p.pull_header(ihl);
    if (ihl + p.length() > mtu) {
        ipv4::repr f = h;
        f.ttl = static_cast<std::uint8_t>(h.ttl - 1);
        (void)send_datagram(out, hop->address, std::move(p), f); // options are not copied
        return;
    }
    // TTL minus one, and the checksum updated for the one word that changed, per RFC 1624
    // §3 eqn. 3 (HC' = ~(~HC + ~m + m')): the word at offset 8 is TTL and protocol.
    std::array<std::byte, ipv4::max_header_length> header;
    std::copy(raw_header.begin(), raw_header.end(), header.begin());
    const auto mv = ipv4::mutable_view::unchecked(std::span(header).first(ihl));
    const std::uint16_t old_word = load_be16(std::span(header).subspan(ipv4::field::ttl));
    mv.set_ttl(static_cast<std::uint8_t>(h.ttl - 1));
    const std::uint16_t new_word = load_be16(std::span(header).subspan(ipv4::field::ttl));
    mv.set_checksum(checksum::update(mv.checksum(), old_word, new_word));
    auto room = p.push_header(static_cast<std::uint32_t>(ihl));
    if (!room) {
        ++s.out_discards;
        return;
    }
    std::copy_n(header.begin(), ihl, room->begin());
    (void)link_output(out, hop->address, std::move(p));
}

} // namespace coronet::native
