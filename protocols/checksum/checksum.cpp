// checksum::sum() and its portable kernel; the CPU decides once which kernel runs.
#include "protocols/checksum/checksum.hpp"
#include "protocols/checksum/kernels.hpp"

#include <array>
#include <cstring>

namespace coronet::checksum {
namespace detail {
namespace {

template <class T>
T load(const std::byte* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// One's complement addition on 64 bits: a carry out of bit 63 comes back in at bit 0.
inline std::uint64_t add_carry(std::uint64_t acc, std::uint64_t v) noexcept {
    acc += v;
    return acc + (acc < v);
}

#if defined(__x86_64__)
constexpr std::size_t kernel_count = 3;
#else
constexpr std::size_t kernel_count = 1;
#endif

constexpr std::array<kernel, kernel_count> all_kernels() {
    return {{
        {"scalar", &sum_scalar, true},
#if defined(__x86_64__)
        {"avx2", &sum_avx2, false},
        {"avx512", &sum_avx512, false},
#endif
    }};
}

std::array<kernel, kernel_count> detect() noexcept {
    auto k = all_kernels();
#if defined(__x86_64__)
    __builtin_cpu_init();
    k[1].supported = __builtin_cpu_supports("avx2");
    k[2].supported = __builtin_cpu_supports("avx512bw");
#endif
    return k;
}

} // namespace

std::uint64_t sum_scalar(const std::byte* p, std::size_t n) noexcept {
    // Four independent carry chains keep the adds from waiting on each other.
    std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (; n >= 32; p += 32, n -= 32) {
        a0 = add_carry(a0, load<std::uint64_t>(p));
        a1 = add_carry(a1, load<std::uint64_t>(p + 8));
        a2 = add_carry(a2, load<std::uint64_t>(p + 16));
        a3 = add_carry(a3, load<std::uint64_t>(p + 24));
    }
    a0 = add_carry(add_carry(a0, a1), add_carry(a2, a3));
    for (; n >= 8; p += 8, n -= 8)
        a0 = add_carry(a0, load<std::uint64_t>(p));
    if (n >= 4) {
        a0 = add_carry(a0, load<std::uint32_t>(p));
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        a0 = add_carry(a0, load<std::uint16_t>(p));
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        const std::byte last[2] = {*p, std::byte{0}};
        a0 = add_carry(a0, load<std::uint16_t>(last));
    }
    return a0;
}

std::span<const kernel> kernels() noexcept {
    static const std::array<kernel, kernel_count> k = detect();
    return k;
}

const kernel& selected_kernel() noexcept {
    // AVX2 when present. AVX-512 is faster only on long data (bench_checksum on a Cascade
    // Lake Xeon: 80 against 48 GB/s at 64 KiB, but slower at 1500 bytes, its 256-byte step
    // leaving a long tail), and there 512-bit instructions lower the clock of the whole core
    // for a while after, slowing the rest of the stack; it stays available to measure.
    static const kernel& chosen = []() -> const kernel& {
        auto k = kernels();
        for (const auto& c : k)
            if (c.name == "avx2" && c.supported) return c;
        return k[0];
    }();
    return chosen;
}

} // namespace detail

std::uint16_t sum(std::span<const std::byte> data) noexcept {
    // Headers (20 to 60 bytes) are summed inline; vector set-up only pays on longer data.
    const auto fn = data.size() < 128 ? &detail::sum_scalar : detail::selected_kernel().fn;
    const std::uint16_t native = fold(fn(data.data(), data.size()));
    return std::endian::native == std::endian::little ? byteswap16(native) : native;
}

} // namespace coronet::checksum
