#pragma once
// TCP header (RFC 9293 §3.1) and its options: MSS (RFC 9293 §3.7.1), window scale
// (RFC 7323 §2), SACK-permitted and SACK (RFC 2018), timestamps (RFC 7323 §3), NOP and EOL.
// check() makes the data offset agree with the segment (at least 5 words, at most the
// segment); parse() verifies the checksum with the pseudo-header and reads the options, of
// which a malformed one (length 0 or 1, a wrong length for its kind, running past the header)
// is an error and an unknown one is skipped. Sequence numbers stay raw 32-bit values here:
// their modular arithmetic belongs to the sequence-number type of the TCP engine.
#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"
#include "framework/net/wire.hpp"
#include "protocols/checksum/checksum.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace coronet::tcp {

namespace field {
inline constexpr std::size_t source_port = 0;
inline constexpr std::size_t destination_port = 2;
inline constexpr std::size_t sequence = 4;
inline constexpr std::size_t acknowledgment = 8;
inline constexpr std::size_t data_offset = 12; // high nibble, in 32-bit words
inline constexpr std::size_t flags = 13;
inline constexpr std::size_t window = 14;
inline constexpr std::size_t checksum = 16;
inline constexpr std::size_t urgent_pointer = 18;
inline constexpr std::size_t options = 20;
} // namespace field

inline constexpr std::size_t min_header_length = 20;
inline constexpr std::size_t max_header_length = 60;
inline constexpr std::size_t max_options_length = max_header_length - min_header_length;
inline constexpr std::uint8_t ip_protocol = 6;
// What one IPv4 packet can carry; the pseudo-header's length field has 16 bits.
inline constexpr std::size_t max_segment_length = 65535;

// The control bits of byte 13 (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
enum class flag : std::uint8_t {
    none = 0,
    fin = 0x01,
    syn = 0x02,
    rst = 0x04,
    psh = 0x08,
    ack = 0x10,
    urg = 0x20,
    ece = 0x40,
    cwr = 0x80,
};
constexpr flag operator|(flag a, flag b) noexcept {
    return static_cast<flag>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr flag operator&(flag a, flag b) noexcept {
    return static_cast<flag>(static_cast<std::uint8_t>(a) & static_cast<std::uint8_t>(b));
}
constexpr flag& operator|=(flag& a, flag b) noexcept { return a = a | b; }
// True when every bit of `f` is set in `set`.
constexpr bool has(flag set, flag f) noexcept { return (set & f) == f; }

namespace option_kind {
inline constexpr std::uint8_t end = 0;
inline constexpr std::uint8_t nop = 1;
inline constexpr std::uint8_t mss = 2;
inline constexpr std::uint8_t window_scale = 3;
inline constexpr std::uint8_t sack_permitted = 4;
inline constexpr std::uint8_t sack = 5;
inline constexpr std::uint8_t timestamps = 8;
} // namespace option_kind

namespace option_length {
inline constexpr std::uint8_t mss = 4;
inline constexpr std::uint8_t window_scale = 3;
inline constexpr std::uint8_t sack_permitted = 2;
inline constexpr std::uint8_t sack_base = 2; // plus 8 per block
inline constexpr std::uint8_t sack_block = 8;
inline constexpr std::uint8_t timestamps = 10;
} // namespace option_length

// RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger than
// 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value."
inline constexpr std::uint8_t max_window_scale = 14;

// 40 bytes of options hold at most four SACK blocks (RFC 2018 §3).
inline constexpr std::size_t max_sack_blocks = 4;

struct sack_block {
    std::uint32_t left = 0;  // first sequence number of the block
    std::uint32_t right = 0; // sequence number just past it
    friend bool operator==(const sack_block&, const sack_block&) = default;
};

struct timestamps {
    std::uint32_t value = 0;      // TSval
    std::uint32_t echo_reply = 0; // TSecr
    friend bool operator==(const timestamps&, const timestamps&) = default;
};

struct options {
    std::optional<std::uint16_t> mss{};
    // The shift count as received; the receiver uses max_window_scale for anything larger.
    std::optional<std::uint8_t> window_scale{};
    bool sack_permitted = false;
    std::optional<tcp::timestamps> timestamps{};
    std::array<sack_block, max_sack_blocks> sack_blocks{};
    std::uint8_t sack_count = 0;

    std::span<const sack_block> sacks() const noexcept {
        return std::span(sack_blocks).first(sack_count);
    }
    // The bytes emit() writes for these options: a multiple of 4.
    std::size_t length() const noexcept;
    friend bool operator==(const options& a, const options& b) noexcept;
};

enum class parse_error : std::uint8_t {
    ok,
    truncated,       // shorter than 20 bytes or than the data offset says
    bad_data_offset, // below 5 words
    oversize,        // above 65535 bytes
    bad_checksum,
    bad_option_length, // length 0 or 1, or wrong for the option's kind
    option_overrun,    // an option runs past the end of the header
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

    // `segment` is the IP payload.
    static parse_result<basic_view, parse_error> check(std::span<B> segment) noexcept {
        if (segment.size() < min_header_length) return parse_error::truncated;
        if (segment.size() > max_segment_length) return parse_error::oversize;
        auto v = basic_view(segment);
        if (v.header_length() < min_header_length) return parse_error::bad_data_offset;
        if (v.header_length() > segment.size()) return parse_error::truncated;
        return v;
    }
    static basic_view unchecked(std::span<B> segment) noexcept { return basic_view(segment); }

    port source_port() const noexcept { return load_be16(bytes_.subspan(field::source_port)); }
    port destination_port() const noexcept {
        return load_be16(bytes_.subspan(field::destination_port));
    }
    std::uint32_t sequence() const noexcept { return load_be32(bytes_.subspan(field::sequence)); }
    std::uint32_t acknowledgment() const noexcept {
        return load_be32(bytes_.subspan(field::acknowledgment));
    }
    std::size_t header_length() const noexcept {
        return (std::to_integer<std::size_t>(bytes_[field::data_offset]) >> 4) * 4;
    }
    flag flags() const noexcept { return static_cast<flag>(bytes_[field::flags]); }
    std::uint16_t window() const noexcept { return load_be16(bytes_.subspan(field::window)); }
    std::uint16_t checksum() const noexcept { return load_be16(bytes_.subspan(field::checksum)); }
    std::uint16_t urgent_pointer() const noexcept {
        return load_be16(bytes_.subspan(field::urgent_pointer));
    }
    std::span<B> options() const noexcept {
        return bytes_.subspan(field::options, header_length() - min_header_length);
    }
    std::span<B> payload() const noexcept { return bytes_.subspan(header_length()); }
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
    std::uint32_t sequence = 0;
    std::uint32_t acknowledgment = 0;
    flag flags = flag::none;
    std::uint16_t window = 0;
    std::uint16_t urgent_pointer = 0;
    tcp::options options{};
    std::uint16_t payload_length = 0;

    std::size_t header_length() const noexcept { return min_header_length + options.length(); }
    std::size_t buffer_len() const noexcept { return header_length() + payload_length; }
    friend bool operator==(const repr&, const repr&) = default;
};

using addresses = checksum::ipv4_addresses;

struct parse_options {
    bool verify_checksum = true; // false when the NIC verified it
};

// The options area of a header (view::options()).
parse_result<tcp::options, parse_error> read_options(std::span<const std::byte> area) noexcept;
// Writes options.length() bytes in the layout Linux uses, every option on its natural
// alignment (MSS; SACK-permitted with timestamps, or NOPs; NOP and window scale; SACK).
std::size_t write_options(const tcp::options& o, std::span<std::byte> out);

parse_result<repr, parse_error> parse(view segment, addresses ip,
                                      parse_options options = {}) noexcept;
parse_result<repr, parse_error> parse(std::span<const std::byte> segment, addresses ip,
                                      parse_options options = {}) noexcept;

// Writes header and options over `out`, which holds the payload after them (buffer_len()
// bytes), and the checksum over both; returns header_length().
std::size_t emit(const repr& r, std::span<std::byte> out, addresses ip);
// Writes header and options when the payload lies elsewhere (a chain of slices):
// `payload_sum` is its checksum::partial sum. Returns header_length().
std::size_t emit_header(const repr& r, std::span<std::byte> header, addresses ip,
                        std::uint16_t payload_sum);
// A buffer too short, options above 40 bytes or a segment above 65535 bytes throw
// std::length_error (a bug in the caller).

} // namespace coronet::tcp
