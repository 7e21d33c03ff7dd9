#pragma once
// Big-endian (network order) loads and stores over byte spans. They assemble the value byte by
// byte, so they need no alignment and never read through a cast pointer; compilers turn them
// into one load plus a byte swap. The span must hold at least the bytes read or written: wire
// views check their length once, then index with named offsets.
#include <cstddef>
#include <cstdint>
#include <span>

namespace coronet {

constexpr std::uint16_t load_be16(std::span<const std::byte> s) noexcept {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(s[0]) << 8 |
                                      std::to_integer<unsigned>(s[1]));
}

constexpr std::uint32_t load_be32(std::span<const std::byte> s) noexcept {
    return std::uint32_t{load_be16(s)} << 16 | load_be16(s.subspan(2));
}

constexpr void store_be16(std::span<std::byte> s, std::uint16_t v) noexcept {
    s[0] = static_cast<std::byte>(v >> 8);
    s[1] = static_cast<std::byte>(v);
}

constexpr void store_be32(std::span<std::byte> s, std::uint32_t v) noexcept {
    store_be16(s, static_cast<std::uint16_t>(v >> 16));
    store_be16(s.subspan(2), static_cast<std::uint16_t>(v));
}

} // namespace coronet
