#pragma once
// Ethernet II frame header (IEEE 802.3 clause 3.2 with the DIX type field): destination,
// source, ethertype. The frame check sequence is the NIC's business and never reaches here.
// Any ethertype is a value (an 802.1Q tag, IPv6 or an 802.3 length shows up as just that);
// the input path decides what it handles.
#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"
#include "framework/net/wire.hpp"

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace coronet::ethernet {

namespace field {
inline constexpr std::size_t destination = 0;
inline constexpr std::size_t source = 6;
inline constexpr std::size_t ethertype = 12;
inline constexpr std::size_t payload = 14;
} // namespace field

inline constexpr std::size_t header_length = field::payload;

// An open set: any 16-bit value is valid, the named ones are those coronet handles.
enum class ethertype : std::uint16_t { ipv4 = 0x0800, arp = 0x0806, vlan = 0x8100, ipv6 = 0x86dd };

enum class parse_error : std::uint8_t { ok, truncated };
inline constexpr std::size_t parse_error_count = 2;
int to_errno(parse_error e) noexcept;
std::string_view name(parse_error e) noexcept;

// A typed view over a frame; check() is the one length test, after which no accessor fails.
template <class B>
class basic_view {
    static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

public:
    basic_view() = default;
    template <class O>
    requires std::is_const_v<B> &&(!std::is_const_v<O>)basic_view(basic_view<O> other) noexcept
        : bytes_(other.bytes()) {}

    static parse_result<basic_view, parse_error> check(std::span<B> frame) noexcept {
        if (frame.size() < header_length) return parse_error::truncated;
        return basic_view(frame);
    }
    // For a buffer the caller sized (emit): no check.
    static basic_view unchecked(std::span<B> frame) noexcept { return basic_view(frame); }

    mac_address destination() const noexcept {
        return mac_address::from_bytes(bytes_.subspan(field::destination));
    }
    mac_address source() const noexcept {
        return mac_address::from_bytes(bytes_.subspan(field::source));
    }
    ethernet::ethertype ethertype() const noexcept {
        return static_cast<ethernet::ethertype>(load_be16(bytes_.subspan(field::ethertype)));
    }
    std::span<B> payload() const noexcept { return bytes_.subspan(field::payload); }
    std::span<B> bytes() const noexcept { return bytes_; }

    void set_destination(mac_address m) const noexcept requires(!std::is_const_v<B>) {
        m.write_to(bytes_.subspan(field::destination));
    }
    void set_source(mac_address m) const noexcept requires(!std::is_const_v<B>) {
        m.write_to(bytes_.subspan(field::source));
    }
    void set_ethertype(ethernet::ethertype t) const noexcept requires(!std::is_const_v<B>) {
        store_be16(bytes_.subspan(field::ethertype), static_cast<std::uint16_t>(t));
    }

private:
    explicit basic_view(std::span<B> b) noexcept : bytes_(b) {}
    std::span<B> bytes_;
};

using view = basic_view<const std::byte>;
using mutable_view = basic_view<std::byte>;

struct repr {
    mac_address source{};
    mac_address destination{};
    ethernet::ethertype ethertype = ethernet::ethertype::ipv4;

    static constexpr std::size_t header_length() noexcept { return ethernet::header_length; }
    friend bool operator==(const repr&, const repr&) = default;
};

parse_result<repr, parse_error> parse(view frame) noexcept;
parse_result<repr, parse_error> parse(std::span<const std::byte> frame) noexcept;
// Writes the 14-byte header at the start of `out`; returns 14. A shorter `out` throws
// std::length_error (a bug in the caller).
std::size_t emit(const repr& r, std::span<std::byte> out);

} // namespace coronet::ethernet
