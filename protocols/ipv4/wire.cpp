#include "protocols/ipv4/wire.hpp"

#include "protocols/checksum/checksum.hpp"

#include <cerrno>

namespace coronet::ipv4 {

namespace {
constexpr reason_table<parse_error, parse_error_count> reasons{{{
    {"ok", 0},
    {"truncated", ENODATA},
    {"bad_version", EPROTONOSUPPORT},
    {"bad_header_length", EINVAL},
    {"bad_total_length", EINVAL},
    {"bad_checksum", EBADMSG},
}}};
static_assert(!reasons.rows[parse_error_count - 1].name.empty(), "a row for every parse_error");
} // namespace

int to_errno(parse_error e) noexcept { return reasons.to_errno(e); }
std::string_view name(parse_error e) noexcept { return reasons.name(e); }

parse_result<repr, parse_error> parse(view packet, parse_options options) noexcept {
    if (packet.version() != 4) return parse_error::bad_version;
    // RFC 791 §3.1: the checksum field is the 16 bit one's complement of the one's complement
    // sum of all 16 bit words in the header, options included.
    if (options.verify_checksum && !checksum::verify(packet.header()))
        return parse_error::bad_checksum;
    repr r;
    r.source = packet.source();
    r.destination = packet.destination();
    r.protocol = packet.protocol();
    r.ttl = packet.ttl();
    r.dscp = packet.dscp();
    r.ecn = packet.ecn();
    r.identification = packet.identification();
    r.dont_fragment = packet.dont_fragment();
    r.more_fragments = packet.more_fragments();
    r.fragment_offset = packet.fragment_offset();
    r.payload_length = static_cast<std::uint16_t>(packet.payload().size());
    return r;
}

parse_result<repr, parse_error> parse(std::span<const std::byte> packet,
                                      parse_options options) noexcept {
    auto v = view::check(packet);
    if (!v) return v.reason();
    return parse(*v, options);
}

std::size_t emit(const repr& r, std::span<std::byte> out) {
    wire_format::require(out.size() >= min_header_length, "ipv4::emit: buffer shorter than the header");
    wire_format::require(r.buffer_len() <= max_packet_length, "ipv4::emit: total length above 65535");
    wire_format::require(r.fragment_offset <= fragment_offset_mask,
                  "ipv4::emit: fragment offset above 13 bits");
    wire_format::require(r.dscp < 64 && r.ecn < 4, "ipv4::emit: DSCP or ECN out of range");
    out[field::version_ihl] = std::byte{0x45}; // version 4, IHL 5
    out[field::dscp_ecn] = std::byte{static_cast<std::uint8_t>(r.dscp << 2 | r.ecn)};
    store_be16(out.subspan(field::total_length), static_cast<std::uint16_t>(r.buffer_len()));
    store_be16(out.subspan(field::identification), r.identification);
    store_be16(out.subspan(field::flags_fragment),
               static_cast<std::uint16_t>((r.dont_fragment ? flag_df : 0) |
                                          (r.more_fragments ? flag_mf : 0) | r.fragment_offset));
    out[field::ttl] = std::byte{r.ttl};
    out[field::protocol] = std::byte{static_cast<std::uint8_t>(r.protocol)};
    store_be16(out.subspan(field::checksum), 0);
    r.source.write_to(out.subspan(field::source));
    r.destination.write_to(out.subspan(field::destination));
    // For computing the checksum, the checksum field is zero (RFC 791 §3.1).
    store_be16(out.subspan(field::checksum), checksum::compute(out.first(min_header_length)));
    return min_header_length;
}

} // namespace coronet::ipv4
