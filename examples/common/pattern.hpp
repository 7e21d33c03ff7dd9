#pragma once
// The bytes coronet-bulk sends and the hash both ends print, so that a receiver (or a test's
// kernel-socket peer) can check a transfer byte for byte without storing it.
//
// Both run on every byte of a checked transfer (coronet-bulk --mode send / receive), so both
// are written to run at memory speed: at one byte per step, FNV-1a (a multiply's latency per
// byte, 0.9 GB/s) and the pattern computed per byte held bench/tap_bench.sh's coronet ->
// kernel figure at 2.4-3.6 Gbit/s with the stack itself idle for most of the time (perf: 39 %
// of the machine in the receiver's check, 28 % in the sender's fill and hash).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace coronet::examples {

// Byte `offset` of the stream: a position-dependent pattern (a shifted byte would show).
inline std::byte pattern_byte(std::uint64_t offset) noexcept {
    return static_cast<std::byte>((offset * 131 + (offset >> 8) * 7 + (offset >> 16)) & 0xff);
}

namespace detail {
// Within a 256-byte block (offset & ~255 fixed) pattern_byte is (i * 131 + c) mod 256 for
// i = offset & 255: base * 131 is a multiple of 256 when base is. So a block is this table
// plus one constant, which the compiler turns into vector byte adds and compares.
inline constexpr std::array<std::uint8_t, 256> pattern_steps = [] {
    std::array<std::uint8_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i)
        t[i] = static_cast<std::uint8_t>(i * 131);
    return t;
}();

inline std::uint8_t pattern_block_constant(std::uint64_t offset) noexcept {
    return static_cast<std::uint8_t>((offset >> 8) * 7 + (offset >> 16));
}

// Calls f(at, first, count, c) for each run of the stream [offset, offset + n) that lies in
// one block: bytes at..at+count of the span, table entries first..first+count.
template <class F>
void for_each_block(std::uint64_t offset, std::size_t n, F&& f) {
    for (std::size_t done = 0; done < n;) {
        const auto first = static_cast<std::size_t>((offset + done) & 255);
        const std::size_t count = std::min<std::size_t>(256 - first, n - done);
        f(done, first, count, pattern_block_constant(offset + done));
        done += count;
    }
}
} // namespace detail

inline void fill_pattern(std::span<std::byte> out, std::uint64_t offset) noexcept {
    auto* p = reinterpret_cast<std::uint8_t*>(out.data());
    detail::for_each_block(
        offset, out.size(),
        [p](std::size_t at, std::size_t first, std::size_t count, std::uint8_t c) {
            for (std::size_t k = 0; k < count; ++k)
                p[at + k] = static_cast<std::uint8_t>(detail::pattern_steps[first + k] + c);
        });
}

// How many bytes of `in` differ from the stream at `offset`.
inline std::uint64_t pattern_mismatches(std::span<const std::byte> in,
                                        std::uint64_t offset) noexcept {
    const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
    std::uint64_t bad = 0;
    detail::for_each_block(
        offset, in.size(),
        [p, &bad](std::size_t at, std::size_t first, std::size_t count, std::uint8_t c) {
            unsigned n = 0; // at most 256: a narrow sum vectorizes
            for (std::size_t k = 0; k < count; ++k)
                n += p[at + k] != static_cast<std::uint8_t>(detail::pattern_steps[first + k] + c);
            bad += n;
        });
    return bad;
}

// FNV-1a, 64 bits, over the stream's 64-bit words (native byte order: both ends of a
// transfer run here) rather than its bytes: one multiply per 8 bytes, about 8 times the
// byte-wise speed. The stream may come in pieces of any size, the value does not depend on
// where they were cut: a partial word waits for the next piece, and value() folds it and
// the stream's length in (so trailing zero bytes count).
class fnv1a {
public:
    void update(std::span<const std::byte> bytes) noexcept {
        length_ += bytes.size();
        if (partial_ != 0) {
            const std::size_t n = std::min(bytes.size(), sizeof(word_) - partial_);
            std::memcpy(reinterpret_cast<std::byte*>(&word_) + partial_, bytes.data(), n);
            partial_ += n;
            bytes = bytes.subspan(n);
            if (partial_ < sizeof(word_)) return;
            h_ = step(h_, word_);
            partial_ = 0;
        }
        std::uint64_t h = h_;
        const std::size_t words = bytes.size() / sizeof(std::uint64_t);
        for (std::size_t i = 0; i < words; ++i) {
            std::uint64_t w;
            std::memcpy(&w, bytes.data() + i * sizeof w, sizeof w);
            h = step(h, w);
        }
        h_ = h;
        partial_ = bytes.size() % sizeof(std::uint64_t);
        word_ = 0;
        std::memcpy(&word_, bytes.data() + words * sizeof(std::uint64_t), partial_);
    }
    std::uint64_t value() const noexcept {
        std::uint64_t h = partial_ != 0 ? step(h_, word_) : h_;
        return step(h, length_);
    }

private:
    static std::uint64_t step(std::uint64_t h, std::uint64_t w) noexcept {
        return (h ^ w) * 0x100000001b3ULL;
    }
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
    std::uint64_t word_ = 0;  // the partial word's bytes, the rest zero
    std::size_t partial_ = 0; // how many of them
    std::uint64_t length_ = 0;
};

} // namespace coronet::examples
