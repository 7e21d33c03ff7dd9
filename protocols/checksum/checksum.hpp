#pragma once
// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
// the data taken as big-endian 16-bit words, an odd last byte padded with a zero byte.
//
// Every sum here is returned as a host-order integer holding the big-endian word value, ready
// for store_be16(). A sum is "folded" (end-around carries added back, RFC 1071 §2(C)) but not
// complemented; the checksum field holds finish(sum) = ~sum, and a region that includes its
// own correct checksum field sums to 0xffff.
//
// sum() is fast: it reads 8 bytes per step or (on x86-64 with AVX2) 32-byte vectors, in native
// byte order, and swaps the folded result once at the end, which RFC 1071 §2(B) ("byte order
// independence") allows.
#include "framework/net/address.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace coronet::checksum {

// Folds a wide one's complement accumulator to 16 bits. 2^16 = 1 (mod 2^16 - 1), so adding
// the high part to the low part keeps the value of the sum (RFC 1071 §2(C), deferred carries).
constexpr std::uint16_t fold(std::uint64_t s) noexcept {
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffffffff) + (s >> 32);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

constexpr std::uint16_t byteswap16(std::uint16_t v) noexcept {
    return static_cast<std::uint16_t>(v << 8 | v >> 8);
}

// The one's complement sum of two sums.
constexpr std::uint16_t add(std::uint16_t a, std::uint16_t b) noexcept {
    return fold(std::uint32_t{a} + b);
}

// The value for a checksum field: the one's complement of the sum.
constexpr std::uint16_t finish(std::uint16_t sum) noexcept {
    return static_cast<std::uint16_t>(~sum);
}

// The folded one's complement sum of `data`, as if it started at an even offset.
std::uint16_t sum(std::span<const std::byte> data) noexcept;

// The checksum of `data` (its checksum field, if it has one, set to zero).
inline std::uint16_t compute(std::span<const std::byte> data) noexcept { return finish(sum(data)); }

// True when `data`, checksum field included, sums to 0xffff ("all one bits", RFC 1071 §1(3)).
inline bool verify(std::span<const std::byte> data) noexcept { return sum(data) == 0xffff; }

// A running sum over successive spans of arbitrary lengths: a packet held as a chain of
// slices. A span that starts at an odd offset of the whole has its bytes in the other halves
// of the 16-bit words, so its own sum is byte-swapped before it is added (RFC 1071 §2(B)).
class partial {
public:
    constexpr partial() = default;
    // Starts from a sum computed elsewhere, such as a pseudo-header sum.
    constexpr explicit partial(std::uint16_t initial_sum) noexcept : sum_(initial_sum) {}

    partial& add(std::span<const std::byte> data) noexcept {
        std::uint16_t s = checksum::sum(data);
        sum_ = checksum::add(sum_, (length_ & 1) != 0 ? byteswap16(s) : s);
        length_ += data.size();
        return *this;
    }
    // Adds the sum of words that lie on the even grid of the whole, such as a pseudo-header,
    // which is conceptually prefixed; the length is unchanged.
    constexpr partial& add_sum(std::uint16_t s) noexcept {
        sum_ = checksum::add(sum_, s);
        return *this;
    }

    constexpr std::uint16_t sum() const noexcept { return sum_; }
    constexpr std::uint16_t checksum() const noexcept { return finish(sum_); }
    constexpr std::size_t length() const noexcept { return length_; }

private:
    std::uint16_t sum_ = 0;
    std::size_t length_ = 0;
};

// The addresses of the IPv4 header that a TCP segment or UDP datagram travels in, which its
// checksum covers through the pseudo-header.
struct ipv4_addresses {
    ipv4_address source{};
    ipv4_address destination{};
};

// The sum of the IPv4 pseudo-header that TCP (RFC 9293 §3.1) and UDP (RFC 768) prefix to
// their checksum: source address, destination address, a zero byte, the protocol number and
// the TCP or UDP length (header plus data).
constexpr std::uint16_t pseudo_header_sum(ipv4_address src, ipv4_address dst, std::uint8_t protocol,
                                          std::uint16_t length) noexcept {
    std::uint64_t s = std::uint64_t{src.to_uint() >> 16} + (src.to_uint() & 0xffff) +
                      (dst.to_uint() >> 16) + (dst.to_uint() & 0xffff) + protocol + length;
    return fold(s);
}
constexpr std::uint16_t pseudo_header_sum(ipv4_addresses ip, std::uint8_t protocol,
                                          std::uint16_t length) noexcept {
    return pseudo_header_sum(ip.source, ip.destination, protocol, length);
}

// Incremental update when one 16-bit word of the covered data changes from m to m_new, per
// RFC 1624 §3, eqn. 3:   HC' = ~(~HC + ~m + m')
// (eqn. 3 rather than RFC 1141's eqn. 2, which yields 0x0000 where the full computation
// yields 0xffff).
constexpr std::uint16_t update(std::uint16_t hc, std::uint16_t m, std::uint16_t m_new) noexcept {
    std::uint32_t s = std::uint32_t{finish(hc)} + finish(m) + m_new;
    return finish(fold(s));
}

// The same for a 32-bit field (an address) on the even grid: two words.
constexpr std::uint16_t update32(std::uint16_t hc, std::uint32_t old_value,
                                 std::uint32_t new_value) noexcept {
    hc = update(hc, static_cast<std::uint16_t>(old_value >> 16),
                static_cast<std::uint16_t>(new_value >> 16));
    return update(hc, static_cast<std::uint16_t>(old_value), static_cast<std::uint16_t>(new_value));
}

} // namespace coronet::checksum
