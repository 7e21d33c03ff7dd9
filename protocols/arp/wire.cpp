#include "protocols/arp/wire.hpp"

#include <cerrno>

namespace coronet::arp {

namespace {
constexpr reason_table<parse_error, parse_error_count> reasons{{{
    {"ok", 0},
    {"truncated", ENODATA},
    {"bad_hardware_type", EPROTONOSUPPORT},
    {"bad_protocol_type", EPROTONOSUPPORT},
    {"bad_hardware_length", EPROTONOSUPPORT},
    {"bad_protocol_length", EPROTONOSUPPORT},
    {"bad_operation", EPROTONOSUPPORT},
}}};
static_assert(!reasons.rows[parse_error_count - 1].name.empty(), "a row for every parse_error");
} // namespace

int to_errno(parse_error e) noexcept { return reasons.to_errno(e); }
std::string_view name(parse_error e) noexcept { return reasons.name(e); }

parse_result<repr, parse_error> parse(view packet) noexcept {
    const auto op = packet.operation();
    if (op != static_cast<std::uint16_t>(operation::request) &&
        op != static_cast<std::uint16_t>(operation::reply))
        return parse_error::bad_operation;
    return repr{static_cast<operation>(op), packet.sender_mac(), packet.sender_ip(),
                packet.target_mac(), packet.target_ip()};
}

parse_result<repr, parse_error> parse(std::span<const std::byte> packet) noexcept {
    auto v = view::check(packet);
    if (!v) return v.reason();
    return parse(*v);
}

std::size_t emit(const repr& r, std::span<std::byte> out) {
    wire_format::require(out.size() >= packet_length, "arp::emit: buffer shorter than the packet");
    store_be16(out.subspan(field::hardware_type), hardware_ethernet);
    store_be16(out.subspan(field::protocol_type), protocol_ipv4);
    out[field::hardware_length] = std::byte{mac_address::size};
    out[field::protocol_length] = std::byte{ipv4_address::size};
    store_be16(out.subspan(field::operation), static_cast<std::uint16_t>(r.operation));
    r.sender_mac.write_to(out.subspan(field::sender_mac));
    r.sender_ip.write_to(out.subspan(field::sender_ip));
    r.target_mac.write_to(out.subspan(field::target_mac));
    r.target_ip.write_to(out.subspan(field::target_ip));
    return packet_length;
}

} // namespace coronet::arp
