#include "protocols/icmp/wire.hpp"

#include "protocols/checksum/checksum.hpp"
#include "protocols/ipv4/wire.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace coronet::icmp {

namespace {
constexpr reason_table<parse_error, parse_error_count> reasons{{{
    {"ok", 0},
    {"truncated", ENODATA},
    {"bad_checksum", EBADMSG},
    {"unsupported_type", EPROTONOSUPPORT},
    {"bad_original_datagram", EINVAL},
}}};
static_assert(!reasons.rows[parse_error_count - 1].name.empty(), "a row for every parse_error");
} // namespace

int to_errno(parse_error e) noexcept { return reasons.to_errno(e); }
std::string_view name(parse_error e) noexcept { return reasons.name(e); }

bool operator==(const repr& a, const repr& b) noexcept {
    return a.type == b.type && a.code == b.code && a.identifier == b.identifier &&
           a.sequence == b.sequence && a.next_hop_mtu == b.next_hop_mtu &&
           std::ranges::equal(a.data, b.data);
}

namespace {

// The quoted datagram must start with an IPv4 header (version 4, IHL of 5 or more) and hold
// it whole plus 8 bytes, so that the transport ports in it can be read.
bool holds_original_datagram(std::span<const std::byte> data) noexcept {
    if (data.size() < ipv4::min_header_length + original_data_length) return false;
    const auto first = std::to_integer<unsigned>(data[ipv4::field::version_ihl]);
    const std::size_t ihl = (first & 0x0f) * 4;
    return first >> 4 == 4 && ihl >= ipv4::min_header_length &&
           ihl + original_data_length <= data.size();
}

} // namespace

parse_result<repr, parse_error> parse(view v, parse_options options) noexcept {
    // RFC 792: the checksum is the 16-bit one's complement of the one's complement sum of the
    // ICMP message starting with the ICMP type.
    if (options.verify_checksum && !checksum::verify(v.bytes())) return parse_error::bad_checksum;
    repr r;
    r.code = v.code();
    r.data = v.data();
    switch (v.type()) {
    case static_cast<std::uint8_t>(message::echo_request):
    case static_cast<std::uint8_t>(message::echo_reply):
        r.type = static_cast<icmp::message>(v.type());
        r.identifier = v.identifier();
        r.sequence = v.sequence();
        return r;
    case static_cast<std::uint8_t>(message::destination_unreachable):
    case static_cast<std::uint8_t>(message::time_exceeded):
        r.type = static_cast<icmp::message>(v.type());
        if (!holds_original_datagram(r.data)) return parse_error::bad_original_datagram;
        if (r.type == message::destination_unreachable &&
            r.code == unreachable::fragmentation_needed)
            r.next_hop_mtu = v.next_hop_mtu();
        return r;
    default:
        return parse_error::unsupported_type;
    }
}

parse_result<repr, parse_error> parse(std::span<const std::byte> message,
                                      parse_options options) noexcept {
    auto v = view::check(message);
    if (!v) return v.reason();
    return parse(*v, options);
}

std::size_t emit(const repr& r, std::span<std::byte> out) {
    wire_format::require(out.size() >= r.buffer_len(), "icmp::emit: buffer shorter than the message");
    out[field::type] = std::byte{static_cast<std::uint8_t>(r.type)};
    out[field::code] = std::byte{r.code};
    store_be16(out.subspan(field::checksum), 0);
    if (r.type == message::echo_request || r.type == message::echo_reply) {
        store_be16(out.subspan(field::identifier), r.identifier);
        store_be16(out.subspan(field::sequence), r.sequence);
    } else {
        store_be16(out.subspan(field::identifier), 0); // unused, zero
        store_be16(out.subspan(field::next_hop_mtu), r.next_hop_mtu);
    }
    // memmove: the data may overlap the output (a reply built where the request was).
    if (!r.data.empty() && r.data.data() != out.data() + field::data)
        std::memmove(out.data() + field::data, r.data.data(), r.data.size());
    const auto whole = out.first(r.buffer_len());
    store_be16(out.subspan(field::checksum), checksum::compute(whole));
    return whole.size();
}

std::span<const std::byte> quote(std::span<const std::byte> ip_packet) noexcept {
    std::size_t n = ipv4::min_header_length;
    if (!ip_packet.empty())
        n = std::max(n, std::size_t{std::to_integer<unsigned>(ip_packet[0]) & 0x0fu} * 4);
    return ip_packet.first(std::min(ip_packet.size(), n + original_data_length));
}

} // namespace coronet::icmp
