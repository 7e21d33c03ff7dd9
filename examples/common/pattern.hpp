#pragma once
// The bytes coronet-bulk sends and the hash both ends print, so that a receiver (or a test's
// kernel-socket peer) can check a transfer byte for byte without storing it.
#include <cstddef>
#include <cstdint>
#include <span>

namespace coronet::examples {

// Byte `offset` of the stream: a position-dependent pattern (a shifted byte would show).
inline std::byte pattern_byte(std::uint64_t offset) noexcept {
    return static_cast<std::byte>((offset * 131 + (offset >> 8) * 7 + (offset >> 16)) & 0xff);
}

inline void fill_pattern(std::span<std::byte> out, std::uint64_t offset) noexcept {
    for (auto& b : out)
        b = pattern_byte(offset++);
}

// FNV-1a, 64 bits: hash the stream piece by piece, in order.
class fnv1a {
public:
    void update(std::span<const std::byte> bytes) noexcept {
        for (auto b : bytes) {
            h_ ^= static_cast<std::uint64_t>(b);
            h_ *= 0x100000001b3ULL;
        }
    }
    std::uint64_t value() const noexcept { return h_; }

private:
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

} // namespace coronet::examples
