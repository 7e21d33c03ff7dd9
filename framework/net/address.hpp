#pragma once
// Link and network addresses as strong types, so that a port is never passed where an address
// is expected and an address is never mistaken for its byte-swapped self. Each stores its
// value in the form that makes its tests cheap: an IPv4 address is a host-order integer (prefix
// masks and range tests are plain integer arithmetic); a MAC address is its six octets in wire
// order. Conversion to and from wire bytes is explicit: from_bytes() and write_to().
#include "framework/net/byte_order.hpp"
#include "framework/result.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace coronet {

class mac_address {
public:
    static constexpr std::size_t size = 6;

    constexpr mac_address() = default;
    constexpr mac_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                          std::uint8_t e, std::uint8_t f) noexcept
        : octets_{a, b, c, d, e, f} {}
    // Reads the first six bytes of `s` (which must hold them).
    static constexpr mac_address from_bytes(std::span<const std::byte> s) noexcept {
        mac_address m;
        for (std::size_t i = 0; i < size; ++i)
            m.octets_[i] = std::to_integer<std::uint8_t>(s[i]);
        return m;
    }
    constexpr void write_to(std::span<std::byte> s) const noexcept {
        for (std::size_t i = 0; i < size; ++i)
            s[i] = std::byte{octets_[i]};
    }
    // "02:00:00:00:00:01" (hex digits of either case, ':' or '-' between them); EINVAL otherwise.
    static result<mac_address> parse(std::string_view text);

    constexpr const std::array<std::uint8_t, size>& octets() const noexcept { return octets_; }
    constexpr bool is_broadcast() const noexcept {
        return *this == mac_address{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    }
    // The I/G bit, the least significant bit of the first octet; broadcast is multicast too.
    constexpr bool is_multicast() const noexcept { return (octets_[0] & 0x01) != 0; }
    constexpr bool is_unicast() const noexcept { return !is_multicast(); }
    // The U/L bit: an address assigned locally (as coronet's virtual NICs use) has it set.
    constexpr bool is_local() const noexcept { return (octets_[0] & 0x02) != 0; }

    friend constexpr auto operator<=>(const mac_address&, const mac_address&) = default;

private:
    std::array<std::uint8_t, size> octets_{};
};

inline constexpr mac_address mac_broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

class ipv4_address {
public:
    static constexpr std::size_t size = 4;

    constexpr ipv4_address() = default;
    constexpr explicit ipv4_address(std::uint32_t host_order) noexcept : value_(host_order) {}
    constexpr ipv4_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
        : value_(std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d) {}
    // Reads four bytes in network order from the start of `s` (which must hold them).
    static constexpr ipv4_address from_bytes(std::span<const std::byte> s) noexcept {
        return ipv4_address{load_be32(s)};
    }
    constexpr void write_to(std::span<std::byte> s) const noexcept { store_be32(s, value_); }
    // Dotted quad "10.0.0.1": four decimal octets 0..255 without leading zeros; EINVAL otherwise.
    static result<ipv4_address> parse(std::string_view text);

    constexpr std::uint32_t to_uint() const noexcept { return value_; }
    constexpr std::array<std::uint8_t, size> octets() const noexcept {
        return {static_cast<std::uint8_t>(value_ >> 24), static_cast<std::uint8_t>(value_ >> 16),
                static_cast<std::uint8_t>(value_ >> 8), static_cast<std::uint8_t>(value_)};
    }
    constexpr bool is_any() const noexcept { return value_ == 0; }
    // The limited broadcast 255.255.255.255 (RFC 919); a subnet's directed broadcast is
    // ipv4_prefix::broadcast().
    constexpr bool is_broadcast() const noexcept { return value_ == 0xffffffff; }
    constexpr bool is_multicast() const noexcept { return (value_ >> 28) == 0xe; } // 224.0.0.0/4
    constexpr bool is_loopback() const noexcept { return (value_ >> 24) == 127; }  // 127.0.0.0/8
    constexpr bool is_link_local() const noexcept {
        return (value_ >> 16) == 0xa9fe;
    } // 169.254.0.0/16

    friend constexpr auto operator<=>(const ipv4_address&, const ipv4_address&) = default;

private:
    std::uint32_t value_ = 0;
};

inline constexpr ipv4_address ipv4_any{};
inline constexpr ipv4_address ipv4_broadcast{0xffffffffu};

// An address with a prefix length, "10.0.0.1/24": an interface address together with its
// subnet, or a route's destination. The address keeps its host bits; network() drops them.
class ipv4_prefix {
public:
    static constexpr std::uint8_t max_length = 32;

    constexpr ipv4_prefix() = default; // 0.0.0.0/0, the default route
    // A length above 32 is a bug in the caller: it throws std::invalid_argument.
    constexpr ipv4_prefix(ipv4_address address, std::uint8_t length)
        : address_(address), length_(length) {
        if (length > max_length) throw_bad_length();
    }
    static result<ipv4_prefix> parse(std::string_view text); // "10.0.0.0/24"; EINVAL otherwise

    constexpr ipv4_address address() const noexcept { return address_; }
    constexpr std::uint8_t length() const noexcept { return length_; }
    constexpr ipv4_address mask() const noexcept {
        return ipv4_address{length_ == 0 ? 0u : ~std::uint32_t{0} << (max_length - length_)};
    }
    constexpr ipv4_address network() const noexcept {
        return ipv4_address{address_.to_uint() & mask().to_uint()};
    }
    constexpr ipv4_address broadcast() const noexcept {
        return ipv4_address{address_.to_uint() | ~mask().to_uint()};
    }
    constexpr bool contains(ipv4_address a) const noexcept {
        return ((a.to_uint() ^ address_.to_uint()) & mask().to_uint()) == 0;
    }

    friend constexpr auto operator<=>(const ipv4_prefix&, const ipv4_prefix&) = default;

private:
    [[noreturn]] static void throw_bad_length();
    ipv4_address address_;
    std::uint8_t length_ = 0;
};

// A TCP or UDP port. It converts implicitly from a number, since ports are written as numbers
// ({ipv4_any, 7}), but never back: value() says that the number is wanted.
class port {
public:
    constexpr port() = default;
    constexpr port(std::uint16_t value) noexcept : value_(value) {}
    constexpr std::uint16_t value() const noexcept { return value_; }
    friend constexpr auto operator<=>(const port&, const port&) = default;

private:
    std::uint16_t value_ = 0;
};

// One end of a transport conversation, "10.0.0.1:80".
struct endpoint {
    ipv4_address address{};
    coronet::port port{};

    static result<endpoint> parse(std::string_view text); // "10.0.0.1:80"; EINVAL otherwise
    friend constexpr auto operator<=>(const endpoint&, const endpoint&) = default;
};

std::string to_string(const mac_address& m);  // "02:00:00:00:00:01"
std::string to_string(const ipv4_address& a); // "10.0.0.1"
std::string to_string(const ipv4_prefix& p);  // "10.0.0.0/24"
std::string to_string(port p);                // "80"
std::string to_string(const endpoint& e);     // "10.0.0.1:80"
std::ostream& operator<<(std::ostream& os, const mac_address& m);
std::ostream& operator<<(std::ostream& os, const ipv4_address& a);
std::ostream& operator<<(std::ostream& os, const ipv4_prefix& p);
std::ostream& operator<<(std::ostream& os, port p);
std::ostream& operator<<(std::ostream& os, const endpoint& e);

namespace detail {
// The splitmix64 finalizer: spreads every input bit over the result, so that tables with a
// power-of-two bucket count see no clustering on addresses that differ in a few low bits.
constexpr std::size_t mix_hash(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<std::size_t>(x);
}
} // namespace detail

} // namespace coronet

template <>
struct std::hash<coronet::mac_address> {
    std::size_t operator()(const coronet::mac_address& m) const noexcept {
        std::uint64_t x = 0;
        for (auto o : m.octets())
            x = x << 8 | o;
        return coronet::detail::mix_hash(x);
    }
};
template <>
struct std::hash<coronet::ipv4_address> {
    std::size_t operator()(const coronet::ipv4_address& a) const noexcept {
        return coronet::detail::mix_hash(a.to_uint());
    }
};
template <>
struct std::hash<coronet::ipv4_prefix> {
    std::size_t operator()(const coronet::ipv4_prefix& p) const noexcept {
        return coronet::detail::mix_hash(std::uint64_t{p.address().to_uint()} << 8 | p.length());
    }
};
template <>
struct std::hash<coronet::port> {
    std::size_t operator()(coronet::port p) const noexcept {
        return coronet::detail::mix_hash(p.value());
    }
};
template <>
struct std::hash<coronet::endpoint> {
    std::size_t operator()(const coronet::endpoint& e) const noexcept {
        return coronet::detail::mix_hash(std::uint64_t{e.address.to_uint()} << 16 | e.port.value());
    }
};
