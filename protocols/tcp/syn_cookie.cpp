#include "protocols/tcp/syn_cookie.hpp"

#include <algorithm>

#include "protocols/tcp/isn.hpp"

namespace coronet::tcp {

std::uint32_t syn_cookies::mss_index(std::uint16_t mss) noexcept {
    std::uint32_t i = 0;
    while (i + 1 < mss_table.size() && mss_table[i + 1] <= mss)
        ++i;
    return i;
}

std::uint32_t syn_cookies::hash1(const endpoint& local, const endpoint& remote) const noexcept {
    return static_cast<std::uint32_t>(siphash24(h1_, tuple_bytes(local, remote)));
}

std::uint32_t syn_cookies::mac(const endpoint& local, const endpoint& remote, seq32 peer_isn,
                               std::uint32_t count, std::uint32_t index) const noexcept {
    std::array<std::byte, 24> in{};
    const auto t = tuple_bytes(local, remote);
    std::copy(t.begin(), t.end(), in.begin());
    store_be32(std::span(in).subspan(12, 4), peer_isn.raw());
    store_be32(std::span(in).subspan(16, 4), count);
    store_be32(std::span(in).subspan(20, 4), index);
    return static_cast<std::uint32_t>(siphash24(h2_, in)) & low_mask;
}

seq32 syn_cookies::encode(const endpoint& local, const endpoint& remote, seq32 peer_isn,
                          std::uint16_t peer_mss, time_point now) const noexcept {
    const std::uint32_t count = counter(now);
    return peer_isn + hash1(local, remote) + (count << low_bits) +
           mac(local, remote, peer_isn, count, mss_index(peer_mss));
}

std::optional<std::uint16_t> syn_cookies::decode(const endpoint& local, const endpoint& remote,
                                                 seq32 peer_isn, seq32 cookie,
                                                 time_point now) const noexcept {
    const std::uint32_t v = distance(peer_isn + hash1(local, remote), cookie);
    const std::uint32_t now_count = counter(now);
    // The counter's low 8 bits came back; its age is their distance behind now's, mod 256.
    const std::uint32_t age = (now_count - (v >> low_bits)) & (0xffffffffu >> low_bits);
    if (age > max_age) return std::nullopt; // stale, or from the future (a large age)
    const std::uint32_t count = now_count - age;
    for (std::uint32_t index = 0; index < mss_table.size(); ++index)
        if (mac(local, remote, peer_isn, count, index) == (v & low_mask)) return mss_table[index];
    return std::nullopt; // forged or altered
}

} // namespace coronet::tcp
