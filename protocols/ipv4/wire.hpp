#pragma once
// IPv4 header (RFC 791 §3.1). check() makes the buffer agree with the header's own lengths:
// at least 20 bytes, IHL of 5 or more and within the buffer, total length at least the header
// and at most the buffer. A buffer longer than the total length (Ethernet padding) is fine:
// payload() stops at the total length. Options are allowed and skipped; emit() writes none.
#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"
#include "framework/net/wire.hpp"

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace coronet::ipv4 {

namespace field {
inline constexpr std::size_t version_ihl = 0; // version (high nibble), IHL in 32-bit words
inline constexpr std::size_t dscp_ecn = 1;    // DSCP (6 bits, RFC 2474), ECN (2 bits, RFC 3168)
inline constexpr std::size_t total_length = 2;
inline constexpr std::size_t identification = 4;
inline constexpr std::size_t flags_fragment = 6; // 0, DF, MF, fragment offset (13 bits)
inline constexpr std::size_t ttl = 8;
inline constexpr std::size_t protocol = 9;
inline constexpr std::size_t checksum = 10;
inline constexpr std::size_t source = 12;
inline constexpr std::size_t destination = 16;
inline constexpr std::size_t options = 20;
} // namespace field

inline constexpr std::size_t min_header_length = 20;
inline constexpr std::size_t max_header_length = 60;
inline constexpr std::size_t max_packet_length = 65535;
inline constexpr std::uint16_t flag_df = 0x4000;
inline constexpr std::uint16_t flag_mf = 0x2000;
inline constexpr std::uint16_t fragment_offset_mask = 0x1fff;

// An open set: any 8-bit value is valid, the named ones are those coronet handles.
enum class protocol : std::uint8_t { icmp = 1, tcp = 6, udp = 17 };

enum class parse_error : std::uint8_t {
    ok,
    truncated,         // fewer bytes than 20, than IHL or than the total length says
    bad_version,       // not 4
    bad_header_length, // IHL below 5
    bad_total_length,  // total length below the header length
    bad_checksum,
};
inline constexpr std::size_t parse_error_count = 6;
int to_errno(parse_error e) noexcept;
std::string_view name(parse_error e) noexcept;

template <class B>
class basic_view {
    static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

public:
    basic_view() = default;
    template <class O>
    requires std::is_const_v<B> &&(!std::is_const_v<O>)basic_view(basic_view<O> other) noexcept
        : bytes_(other.bytes()) {}

    static parse_result<basic_view, parse_error> check(std::span<B> packet) noexcept {
        if (packet.size() < min_header_length) return parse_error::truncated;
        auto v = basic_view(packet);
        if (v.header_length() < min_header_length) return parse_error::bad_header_length;
        if (packet.size() < v.header_length()) return parse_error::truncated;
        if (v.total_length() < v.header_length()) return parse_error::bad_total_length;
        if (packet.size() < v.total_length()) return parse_error::truncated;
        return v;
    }
    static basic_view unchecked(std::span<B> packet) noexcept { return basic_view(packet); }

    std::uint8_t version() const noexcept { return byte(field::version_ihl) >> 4; }
    std::size_t header_length() const noexcept {
        return std::size_t{byte(field::version_ihl) & 0x0fu} * 4;
    }
    std::uint8_t dscp() const noexcept { return byte(field::dscp_ecn) >> 2; }
    std::uint8_t ecn() const noexcept { return byte(field::dscp_ecn) & 0x03; }
    std::uint16_t total_length() const noexcept {
        return load_be16(bytes_.subspan(field::total_length));
    }
    std::uint16_t identification() const noexcept {
        return load_be16(bytes_.subspan(field::identification));
    }
    bool dont_fragment() const noexcept { return (flags_fragment() & flag_df) != 0; }
    bool more_fragments() const noexcept { return (flags_fragment() & flag_mf) != 0; }
    // In units of 8 octets, as on the wire.
    std::uint16_t fragment_offset() const noexcept {
        return flags_fragment() & fragment_offset_mask;
    }
    std::uint8_t ttl() const noexcept { return byte(field::ttl); }
    ipv4::protocol protocol() const noexcept {
        return static_cast<ipv4::protocol>(byte(field::protocol));
    }
    std::uint16_t checksum() const noexcept { return load_be16(bytes_.subspan(field::checksum)); }
    ipv4_address source() const noexcept {
        return ipv4_address::from_bytes(bytes_.subspan(field::source));
    }
    ipv4_address destination() const noexcept {
        return ipv4_address::from_bytes(bytes_.subspan(field::destination));
    }

    std::span<B> header() const noexcept { return bytes_.first(header_length()); }
    std::span<B> options() const noexcept { return header().subspan(field::options); }
    // From the end of the header to the total length: padding beyond it is left out.
    std::span<B> payload() const noexcept {
        return bytes_.subspan(header_length(), total_length() - header_length());
    }
    std::span<B> bytes() const noexcept { return bytes_; }

    void set_ttl(std::uint8_t ttl) const noexcept requires(!std::is_const_v<B>) {
        bytes_[field::ttl] = std::byte{ttl};
    }
    void set_checksum(std::uint16_t c) const noexcept requires(!std::is_const_v<B>) {
        store_be16(bytes_.subspan(field::checksum), c);
    }

private:
    explicit basic_view(std::span<B> b) noexcept : bytes_(b) {}
    std::uint8_t byte(std::size_t at) const noexcept {
        return std::to_integer<std::uint8_t>(bytes_[at]);
    }
    std::uint16_t flags_fragment() const noexcept {
        return load_be16(bytes_.subspan(field::flags_fragment));
    }
    std::span<B> bytes_;
};

using view = basic_view<const std::byte>;
using mutable_view = basic_view<std::byte>;

struct repr {
    ipv4_address source{};
    ipv4_address destination{};
    ipv4::protocol protocol = ipv4::protocol::tcp;
    std::uint8_t ttl = 64;
    std::uint8_t dscp = 0;
    std::uint8_t ecn = 0;
    std::uint16_t identification = 0;
    bool dont_fragment = true;
    bool more_fragments = false;
    std::uint16_t fragment_offset = 0; // in units of 8 octets
    std::uint16_t payload_length = 0;

    // emit() writes no options: always 20.
    static constexpr std::size_t header_length() noexcept { return min_header_length; }
    constexpr std::size_t buffer_len() const noexcept { return header_length() + payload_length; }
    friend bool operator==(const repr&, const repr&) = default;
};

struct parse_options {
    // false when the NIC has verified the header checksum already (receive offload).
    bool verify_checksum = true;
};

// The header fields; the payload is view::payload() (options skipped, padding trimmed).
parse_result<repr, parse_error> parse(view packet, parse_options options = {}) noexcept;
parse_result<repr, parse_error> parse(std::span<const std::byte> packet,
                                      parse_options options = {}) noexcept;

// Writes the 20-byte header with its checksum; returns 20. A shorter `out`, a total length
// above 65535, a fragment offset above 13 bits or a DSCP/ECN out of range throw
// std::length_error (a bug in the caller).
std::size_t emit(const repr& r, std::span<std::byte> out);

} // namespace coronet::ipv4
