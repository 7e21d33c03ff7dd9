#pragma once
// ARP packet for Ethernet and IPv4 (RFC 826): the only pairing coronet resolves, so check()
// refuses any other hardware type, protocol type or address length, and parse() any operation
// other than request and reply. With those fixed the packet is 28 bytes at fixed offsets.
#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"
#include "framework/net/wire.hpp"

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace coronet::arp {

namespace field {
inline constexpr std::size_t hardware_type = 0;   // ar$hrd
inline constexpr std::size_t protocol_type = 2;   // ar$pro
inline constexpr std::size_t hardware_length = 4; // ar$hln
inline constexpr std::size_t protocol_length = 5; // ar$pln
inline constexpr std::size_t operation = 6;       // ar$op
inline constexpr std::size_t sender_mac = 8;      // ar$sha
inline constexpr std::size_t sender_ip = 14;      // ar$spa
inline constexpr std::size_t target_mac = 18;     // ar$tha
inline constexpr std::size_t target_ip = 24;      // ar$tpa
} // namespace field

inline constexpr std::size_t fixed_length = 8; // up to and including ar$op
inline constexpr std::size_t packet_length = 28;
inline constexpr std::uint16_t hardware_ethernet = 1;
inline constexpr std::uint16_t protocol_ipv4 = 0x0800;

enum class operation : std::uint16_t { request = 1, reply = 2 };

enum class parse_error : std::uint8_t {
    ok,
    truncated,
    bad_hardware_type,   // not Ethernet
    bad_protocol_type,   // not IPv4
    bad_hardware_length, // not 6
    bad_protocol_length, // not 4
    bad_operation,       // neither request nor reply
};
inline constexpr std::size_t parse_error_count = 7;
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

    // Bytes past the 28 (Ethernet padding) are ignored.
    static parse_result<basic_view, parse_error> check(std::span<B> packet) noexcept {
        if (packet.size() < fixed_length) return parse_error::truncated;
        auto v = basic_view(packet);
        if (v.hardware_type() != hardware_ethernet) return parse_error::bad_hardware_type;
        if (v.protocol_type() != protocol_ipv4) return parse_error::bad_protocol_type;
        if (v.hardware_length() != mac_address::size) return parse_error::bad_hardware_length;
        if (v.protocol_length() != ipv4_address::size) return parse_error::bad_protocol_length;
        if (packet.size() < packet_length) return parse_error::truncated;
        return v;
    }
    static basic_view unchecked(std::span<B> packet) noexcept { return basic_view(packet); }

    std::uint16_t hardware_type() const noexcept {
        return load_be16(bytes_.subspan(field::hardware_type));
    }
    std::uint16_t protocol_type() const noexcept {
        return load_be16(bytes_.subspan(field::protocol_type));
    }
    std::uint8_t hardware_length() const noexcept {
        return std::to_integer<std::uint8_t>(bytes_[field::hardware_length]);
    }
    std::uint8_t protocol_length() const noexcept {
        return std::to_integer<std::uint8_t>(bytes_[field::protocol_length]);
    }
    std::uint16_t operation() const noexcept { return load_be16(bytes_.subspan(field::operation)); }
    mac_address sender_mac() const noexcept {
        return mac_address::from_bytes(bytes_.subspan(field::sender_mac));
    }
    ipv4_address sender_ip() const noexcept {
        return ipv4_address::from_bytes(bytes_.subspan(field::sender_ip));
    }
    mac_address target_mac() const noexcept {
        return mac_address::from_bytes(bytes_.subspan(field::target_mac));
    }
    ipv4_address target_ip() const noexcept {
        return ipv4_address::from_bytes(bytes_.subspan(field::target_ip));
    }
    std::span<B> bytes() const noexcept { return bytes_; }

private:
    explicit basic_view(std::span<B> b) noexcept : bytes_(b) {}
    std::span<B> bytes_;
};

using view = basic_view<const std::byte>;
using mutable_view = basic_view<std::byte>;

struct repr {
    arp::operation operation = arp::operation::request;
    mac_address sender_mac{};
    ipv4_address sender_ip{};
    mac_address target_mac{}; // all zeros in a request (RFC 5227 §1.1 as Linux sends it)
    ipv4_address target_ip{};

    static constexpr std::size_t buffer_len() noexcept { return packet_length; }
    friend bool operator==(const repr&, const repr&) = default;
};

parse_result<repr, parse_error> parse(view packet) noexcept;
parse_result<repr, parse_error> parse(std::span<const std::byte> packet) noexcept;
// Writes the 28 bytes; a shorter `out` throws std::length_error (a bug in the caller).
std::size_t emit(const repr& r, std::span<std::byte> out);

} // namespace coronet::arp
