#pragma once
// ICMP messages (RFC 792) that coronet sends and answers: echo request and reply, destination
// unreachable, time exceeded. All share a 4-byte header (type, code, checksum) and 4 bytes
// whose meaning depends on the type; the checksum covers the whole message. Other types parse
// to unsupported_type, a reason the input path counts before it drops them.
#include "framework/net/byte_order.hpp"
#include "framework/net/wire.hpp"

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace coronet::icmp {

namespace field {
inline constexpr std::size_t type = 0;
inline constexpr std::size_t code = 1;
inline constexpr std::size_t checksum = 2;
inline constexpr std::size_t identifier = 4;   // echo
inline constexpr std::size_t sequence = 6;     // echo
inline constexpr std::size_t next_hop_mtu = 6; // destination unreachable, code 4 (RFC 1191 §4)
inline constexpr std::size_t data = 8;
} // namespace field

inline constexpr std::size_t header_length = field::data;
// An error message carries the offending datagram's IP header and its first 64 bits of data.
inline constexpr std::size_t original_data_length = 8;

enum class message : std::uint8_t {
    echo_reply = 0,
    destination_unreachable = 3,
    echo_request = 8,
    time_exceeded = 11,
};

// Codes of destination unreachable (RFC 792, RFC 1191 for fragmentation_needed).
namespace unreachable {
inline constexpr std::uint8_t net = 0;
inline constexpr std::uint8_t host = 1;
inline constexpr std::uint8_t protocol = 2;
inline constexpr std::uint8_t port = 3;
inline constexpr std::uint8_t fragmentation_needed = 4;
} // namespace unreachable
// Codes of time exceeded.
namespace exceeded {
inline constexpr std::uint8_t ttl = 0;
inline constexpr std::uint8_t reassembly = 1;
} // namespace exceeded

enum class parse_error : std::uint8_t {
    ok,
    truncated, // shorter than the 8-byte header
    bad_checksum,
    unsupported_type,
    bad_original_datagram, // an error message without an IPv4 header and 8 bytes after it
};
inline constexpr std::size_t parse_error_count = 5;
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

    // `message` is the whole IP payload: the checksum covers all of it.
    static parse_result<basic_view, parse_error> check(std::span<B> message) noexcept {
        if (message.size() < header_length) return parse_error::truncated;
        return basic_view(message);
    }
    static basic_view unchecked(std::span<B> message) noexcept { return basic_view(message); }

    std::uint8_t type() const noexcept {
        return std::to_integer<std::uint8_t>(bytes_[field::type]);
    }
    std::uint8_t code() const noexcept {
        return std::to_integer<std::uint8_t>(bytes_[field::code]);
    }
    std::uint16_t checksum() const noexcept { return load_be16(bytes_.subspan(field::checksum)); }
    std::uint16_t identifier() const noexcept {
        return load_be16(bytes_.subspan(field::identifier));
    }
    std::uint16_t sequence() const noexcept { return load_be16(bytes_.subspan(field::sequence)); }
    std::uint16_t next_hop_mtu() const noexcept {
        return load_be16(bytes_.subspan(field::next_hop_mtu));
    }
    std::span<B> data() const noexcept { return bytes_.subspan(field::data); }
    std::span<B> bytes() const noexcept { return bytes_; }

private:
    explicit basic_view(std::span<B> b) noexcept : bytes_(b) {}
    std::span<B> bytes_;
};

using view = basic_view<const std::byte>;
using mutable_view = basic_view<std::byte>;

// One flat value for the four messages; the fields a type does not use stay zero.
struct repr {
    icmp::message type = icmp::message::echo_request;
    std::uint8_t code = 0;
    std::uint16_t identifier = 0;   // echo
    std::uint16_t sequence = 0;     // echo
    std::uint16_t next_hop_mtu = 0; // destination unreachable, fragmentation needed
    // Echo: the data to send back. Errors: the original IP header and 8 bytes (see quote()).
    // It points into the parsed buffer, or at the bytes emit() copies.
    std::span<const std::byte> data{};

    constexpr std::size_t buffer_len() const noexcept { return header_length + data.size(); }
    // Data compares by content.
    friend bool operator==(const repr& a, const repr& b) noexcept;
};

struct parse_options {
    bool verify_checksum = true; // false when the NIC verified it
};

parse_result<repr, parse_error> parse(view message, parse_options options = {}) noexcept;
parse_result<repr, parse_error> parse(std::span<const std::byte> message,
                                      parse_options options = {}) noexcept;

// Writes the header, copies r.data after it (unless it is already there: an echo reply built
// in the request's buffer) and fills the checksum; returns buffer_len(). A shorter `out`
// throws std::length_error (a bug in the caller).
std::size_t emit(const repr& r, std::span<std::byte> out);

// What an error message quotes of the datagram that caused it: its IP header and the first
// 64 bits of its data (RFC 792), or less when the datagram is shorter.
std::span<const std::byte> quote(std::span<const std::byte> ip_packet) noexcept;

} // namespace coronet::icmp
