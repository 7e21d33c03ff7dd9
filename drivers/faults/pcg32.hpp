#pragma once
// pcg32: the small seeded generator behind every injected fault (O'Neill's PCG-XSH-RR,
// 64-bit state, 32-bit output). Written out rather than taken from <random> because the
// standard distributions differ between libstdc++ and libc++: with our own conversions the
// same seed gives the same faults with any compiler, which is what makes a lossy run a trace
// one can replay. Never seeded from std::random_device.
#include <cstdint>

namespace coronet {

class pcg32 {
public:
    explicit pcg32(std::uint64_t seed, std::uint64_t stream = 0xda3e39cb94b95bdbULL) noexcept
        : inc_((stream << 1U) | 1U) {
        (void)next();
        state_ += seed;
        (void)next();
    }

    std::uint32_t next() noexcept {
        const std::uint64_t old = state_;
        state_ = old * 6364136223846793005ULL + inc_;
        const auto xorshifted = static_cast<std::uint32_t>(((old >> 18U) ^ old) >> 27U);
        const auto rot = static_cast<std::uint32_t>(old >> 59U);
        return (xorshifted >> rot) | (xorshifted << ((32U - rot) & 31U));
    }
    std::uint64_t next64() noexcept {
        const std::uint64_t hi = next();
        return (hi << 32U) | next();
    }
    // Uniform in [0, 1), 53 random bits.
    double uniform() noexcept { return static_cast<double>(next64() >> 11U) * 0x1.0p-53; }
    // Uniform in [0, n) for n > 0 (the modulo bias is below 2^-40 for the n used here).
    std::uint64_t below(std::uint64_t n) noexcept { return next64() % n; }

private:
    std::uint64_t state_ = 0;
    std::uint64_t inc_;
};

} // namespace coronet
