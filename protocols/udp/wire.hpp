#pragma once
// UDP header (RFC 768): ports, length, checksum. The length must agree with the IP payload it
// came in: at least 8 and at most the payload (IP padding beyond it is left out of payload()).
// The checksum covers the IPv4 pseudo-header, header and data; a zero checksum field means
// "none" on receive, and a computed zero is sent as 0xffff.
#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"
#include "framework/net/wire.hpp"
#include "protocols/checksum/checksum.hpp"

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace coronet::udp {

namespace field {
inline constexpr std::size_t source_port = 0;
inline constexpr std::size_t destination_port = 2;
inline constexpr std::size_t length = 4;
inline constexpr std::size_t checksum = 6;
inline constexpr std::size_t payload = 8;
} // namespace field

inline constexpr std::size_t header_length = field::payload;
inline constexpr std::uint8_t ip_protocol = 17;
inline constexpr std::size_t max_payload_length = 65535 - header_length;

enum class parse_error : std::uint8_t {
    ok,
    truncated,  // shorter than the 8-byte header
    bad_length, // length field below 8 or beyond the IP payload
    bad_checksum,
};
inline constexpr std::size_t parse_error_count = 4;
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

    // `datagram` is the IP payload.
    static parse_result<basic_view, parse_error> check(std::span<B> datagram) noexcept {
        if (datagram.size() < header_length) return parse_error::truncated;
        auto v = basic_view(datagram);
        if (v.length() < header_length || v.length() > datagram.size())
            return parse_error::bad_length;
        return v;
    }
    static basic_view unchecked(std::span<B> datagram) noexcept { return basic_view(datagram); }

    port source_port() const noexcept { return load_be16(bytes_.subspan(field::source_port)); }
    port destination_port() const noexcept {
        return load_be16(bytes_.subspan(field::destination_port));
    }
    std::uint16_t length() const noexcept { return load_be16(bytes_.subspan(field::length)); }
    std::uint16_t checksum() const noexcept { return load_be16(bytes_.subspan(field::checksum)); }
    // Header and data, as far as the length field says.
    std::span<B> datagram() const noexcept { return bytes_.first(length()); }
    std::span<B> payload() const noexcept { return datagram().subspan(field::payload); }
    std::span<B> bytes() const noexcept { return bytes_; }

    void set_checksum(std::uint16_t c) const noexcept requires(!std::is_const_v<B>) {
        store_be16(bytes_.subspan(field::checksum), c);
    }

private:
    explicit basic_view(std::span<B> b) noexcept : bytes_(b) {}
    std::span<B> bytes_;
};

using view = basic_view<const std::byte>;
using mutable_view = basic_view<std::byte>;

struct repr {
    port source_port{};
    port destination_port{};
    std::uint16_t payload_length = 0;

    static constexpr std::size_t header_length() noexcept { return udp::header_length; }
    constexpr std::size_t buffer_len() const noexcept {
        return udp::header_length + payload_length;
    }
    friend bool operator==(const repr&, const repr&) = default;
};

// The addresses of the IPv4 header the datagram came in or goes out with.
using addresses = checksum::ipv4_addresses;

struct parse_options {
    bool verify_checksum = true; // false when the NIC verified it
};

parse_result<repr, parse_error> parse(view datagram, addresses ip,
                                      parse_options options = {}) noexcept;
parse_result<repr, parse_error> parse(std::span<const std::byte> datagram, addresses ip,
                                      parse_options options = {}) noexcept;

// Writes the header over `out`, which holds the payload after it (buffer_len() bytes), and
// the checksum over both; returns 8.
std::size_t emit(const repr& r, std::span<std::byte> out, addresses ip);
// Writes the 8-byte header when the payload lies elsewhere (a chain of slices):
// `payload_sum` is its checksum::partial sum. Returns 8.
std::size_t emit_header(const repr& r, std::span<std::byte> header, addresses ip,
                        std::uint16_t payload_sum);
// A payload above max_payload_length or a buffer too short throws std::length_error.

} // namespace coronet::udp
