#pragma once
// The peer's MSS, clamped where it enters: the SYN's option is a number a remote host picks.
//
// RFC 9293 §3.7.1: without the option the peer's MSS is 536. With it, any 16-bit value may
// arrive. 0 would make every segment empty (a stall) and, with segmentation offload, a
// division by zero; a few bytes turn each byte of a write into a segment and a pool buffer
// (CVE-2019-11479's resource exhaustion). So, as Linux (tcp_min_snd_mss), at least 48, and
// never more than our own path allows (MTU less the fixed IP and TCP headers). The options
// later subtracted from it (timestamps 12, SACK at most 36) leave at least 8 bytes of data.
#include <algorithm>
#include <cstdint>
#include <optional>

namespace coronet::tcp {

inline constexpr std::uint16_t default_peer_mss = 536;
inline constexpr std::uint16_t min_peer_mss = 48;

// The MSS we announce on a path of `mtu` IP bytes (RFC 9293 §3.7.1: MTU - 20 - 20).
inline std::uint16_t mss_for_mtu(std::uint32_t mtu) noexcept {
    return static_cast<std::uint16_t>(std::clamp<std::uint32_t>(mtu, 40 + min_peer_mss, 65535) - 40);
}

struct clamped_mss {
    std::uint16_t value;
    bool clamped; // the peer's value was raised to min_peer_mss
};

// The MSS we may send with: the peer's (or 536), at least min_peer_mss, at most `ours`.
inline clamped_mss peer_mss(std::optional<std::uint16_t> offered, std::uint16_t ours) noexcept {
    const std::uint16_t v = offered.value_or(default_peer_mss);
    if (v < min_peer_mss) return {std::min(min_peer_mss, ours), true};
    return {std::min(v, ours), false};
}

} // namespace coronet::tcp
