#pragma once
// SYN cookies (RFC 4987 §3.6), laid out as Linux lays them out: a listener whose SYN queue is
// full answers a SYN without keeping state, with an ISN that encodes what it must remember,
// and rebuilds the connection from the ACK that echoes ISN + 1.
//
//   cookie = H1(tuple) + peer_isn + (count << 24) + MAC
//   MAC    = H2(tuple, peer_isn, count, mss_index) mod 2^24
//
// count is a coarse clock, now / 64 s (its low 8 bits travel in the top byte); H1 and H2 are
// SipHash-2-4 under two secret keys. H1 hides the counter from observers, as in Linux. Unlike
// Linux, which adds the MSS index to its hash, the index travels only inside the MAC:
// decoding tries the four indices, so the MAC covers the index and the peer's ISN too and an
// altered cookie or ACK cannot select another MSS. Decoding subtracts H1 + peer_isn, reads
// count from the top byte (rejected when more than max_age periods old, or from the future)
// and accepts the index whose MAC matches the low 24 bits: a forged cookie passes with
// probability about (max_age + 1) / 256 * 4 / 2^24.
//
// A cookie remembers only the MSS (as one of four values); window scaling, SACK-permitted and
// timestamps offered in the SYN are lost, as in Linux without timestamps.
#include <array>
#include <cstdint>
#include <optional>

#include "framework/clock.hpp"
#include "framework/net/address.hpp"
#include "protocols/tcp/seq.hpp"
#include "protocols/tcp/siphash.hpp"

namespace coronet::tcp {

class syn_cookies {
public:
    static constexpr duration period = std::chrono::seconds(64);
    static constexpr std::uint32_t max_age = 2; // periods
    // The MSS values a cookie can carry (Linux's msstab): the largest not above the peer's.
    static constexpr std::array<std::uint16_t, 4> mss_table{536, 1300, 1440, 1460};

    explicit syn_cookies(std::uint64_t seed) noexcept
        : h1_(siphash_key::derive(seed, domain_h1)), h2_(siphash_key::derive(seed, domain_h2)) {}

    // The ISN of the SYN-ACK answering a SYN from `remote` with sequence number `peer_isn`
    // and MSS option `peer_mss` (536 when absent, RFC 9293 §3.7.1).
    seq32 encode(const endpoint& local, const endpoint& remote, seq32 peer_isn,
                 std::uint16_t peer_mss, time_point now) const noexcept;
    // The MSS from a returning ACK (cookie = its ACK number - 1, peer_isn = its SEQ - 1), or
    // nullopt when the cookie is stale or was not made by us for this tuple and ISN.
    std::optional<std::uint16_t> decode(const endpoint& local, const endpoint& remote,
                                        seq32 peer_isn, seq32 cookie,
                                        time_point now) const noexcept;

    static std::uint32_t mss_index(std::uint16_t mss) noexcept;
    static std::uint32_t counter(time_point now) noexcept {
        return static_cast<std::uint32_t>(now.since_epoch / period);
    }

private:
    static constexpr std::uint64_t domain_h1 = 0x636f6f6b696531; // "cookie1"
    static constexpr std::uint64_t domain_h2 = 0x636f6f6b696532; // "cookie2"
    static constexpr std::uint32_t low_bits = 24;
    static constexpr std::uint32_t low_mask = (std::uint32_t{1} << low_bits) - 1;

    std::uint32_t hash1(const endpoint& local, const endpoint& remote) const noexcept;
    std::uint32_t mac(const endpoint& local, const endpoint& remote, seq32 peer_isn,
                      std::uint32_t count, std::uint32_t index) const noexcept;

    siphash_key h1_;
    siphash_key h2_;
};

} // namespace coronet::tcp
