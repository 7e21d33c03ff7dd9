#include "protocols/udp/wire.hpp"

#include "protocols/checksum/checksum.hpp"

#include <cerrno>

namespace coronet::udp {

namespace {
constexpr reason_table<parse_error, parse_error_count> reasons{{{
    {"ok", 0},
    {"truncated", ENODATA},
    {"bad_length", EINVAL},
    {"bad_checksum", EBADMSG},
}}};
static_assert(!reasons.rows[parse_error_count - 1].name.empty(), "a row for every parse_error");
} // namespace

int to_errno(parse_error e) noexcept { return reasons.to_errno(e); }
std::string_view name(parse_error e) noexcept { return reasons.name(e); }

parse_result<repr, parse_error> parse(view datagram, addresses ip, parse_options options) noexcept {
    // RFC 768: "An all zero transmitted checksum value means that the transmitter generated
    // no checksum". Otherwise pseudo-header, header and data sum to all ones.
    if (options.verify_checksum && datagram.checksum() != 0) {
        checksum::partial sum(checksum::pseudo_header_sum(ip, ip_protocol, datagram.length()));
        if (sum.add(datagram.datagram()).sum() != 0xffff) return parse_error::bad_checksum;
    }
    return repr{datagram.source_port(), datagram.destination_port(),
                static_cast<std::uint16_t>(datagram.length() - header_length)};
}

parse_result<repr, parse_error> parse(std::span<const std::byte> datagram, addresses ip,
                                      parse_options options) noexcept {
    auto v = view::check(datagram);
    if (!v) return v.reason();
    return parse(*v, ip, options);
}

std::size_t emit_header(const repr& r, std::span<std::byte> header, addresses ip,
                        std::uint16_t payload_sum) {
    wire_format::require(header.size() >= header_length, "udp::emit: buffer shorter than the header");
    wire_format::require(r.payload_length <= max_payload_length, "udp::emit: payload above 65527 bytes");
    const auto length = static_cast<std::uint16_t>(r.buffer_len());
    store_be16(header.subspan(field::source_port), r.source_port.value());
    store_be16(header.subspan(field::destination_port), r.destination_port.value());
    store_be16(header.subspan(field::length), length);
    store_be16(header.subspan(field::checksum), 0);
    checksum::partial sum(checksum::pseudo_header_sum(ip, ip_protocol, length));
    sum.add(header.first(header_length)).add_sum(payload_sum);
    // RFC 768: "If the computed checksum is zero, it is transmitted as all ones", since zero
    // would mean that there is none.
    const std::uint16_t c = sum.checksum();
    store_be16(header.subspan(field::checksum), c == 0 ? 0xffff : c);
    return header_length;
}

std::size_t emit(const repr& r, std::span<std::byte> out, addresses ip) {
    wire_format::require(out.size() >= r.buffer_len(), "udp::emit: buffer shorter than the datagram");
    return emit_header(r, out, ip, checksum::sum(out.subspan(header_length, r.payload_length)));
}

} // namespace coronet::udp
