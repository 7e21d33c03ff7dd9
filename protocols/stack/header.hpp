#pragma once
// Helpers the stack's files share: an IPv4 header read from its bytes alone (the payload
// may lie in other slices), the quote an ICMP error carries, and trace text.
#include "framework/buffer/packet.hpp"
#include "protocols/ipv4/wire.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <string>

namespace coronet::native {

// The fields of a header whose length checks have passed. ipv4::parse() wants the whole
// datagram in one span; a received packet's payload may be a chain, so read the fields.
inline ipv4::repr header_fields(ipv4::view v) noexcept {
    ipv4::repr r;
    r.source = v.source();
    r.destination = v.destination();
    r.protocol = v.protocol();
    r.ttl = v.ttl();
    r.dscp = v.dscp();
    r.ecn = v.ecn();
    r.identification = v.identification();
    r.dont_fragment = v.dont_fragment();
    r.more_fragments = v.more_fragments();
    r.fragment_offset = v.fragment_offset();
    r.payload_length = static_cast<std::uint16_t>(v.total_length() - v.header_length());
    return r;
}

// An IP header and the first 64 bits of its data (RFC 792), in one small array.
struct quote_buffer {
    std::array<std::byte, ipv4::max_header_length + 8> bytes{};
    std::size_t length = 0;
    std::span<const std::byte> span() const noexcept { return std::span(bytes).first(length); }

    // `header` and the first 8 bytes of `data` from `offset`.
    quote_buffer(std::span<const std::byte> header, const packet& data, std::size_t offset = 0) {
        const auto n = std::min(header.size(), ipv4::max_header_length);
        std::copy_n(header.begin(), n, bytes.begin());
        const auto extra = data.length() > offset ? std::min<std::size_t>(8, data.length() - offset) : 0;
        (void)data.copy_out(offset, std::span(bytes).subspan(n, extra));
        length = n + extra;
    }
};

inline std::string describe(const ipv4::repr& h) {
    return to_string(h.source) + " > " + to_string(h.destination) + " proto " +
           std::to_string(static_cast<unsigned>(h.protocol)) + " len " +
           std::to_string(h.buffer_len());
}

} // namespace coronet::native
