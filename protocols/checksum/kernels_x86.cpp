// Vector kernels of checksum::sum() for x86-64, compiled for their extension with a target
// attribute (the rest of the program stays baseline x86-64); detail::kernels() runs them only
// on CPUs that report the extension.
//
// Both use vpmaddwd, which multiplies 16-bit lanes and adds adjacent pairs into 32-bit lanes:
// with a multiplier of 1 it is a pairwise add, one instruction per vector. It takes its
// operands as signed, so each unsigned word u is first biased to u - 0x8000 (xor 0x8000); a
// pair then yields u0 + u1 - 0x10000, which is added back per 32-bit lane at the end.
#include "protocols/checksum/kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace coronet::checksum::detail {
namespace {

inline std::uint64_t add_carry(std::uint64_t acc, std::uint64_t v) noexcept {
    acc += v;
    return acc + (acc < v);
}

// A lane gains a value in [-0x10000, 0xfffe] per vector; four accumulators are added lane by
// lane before widening, so 4 * 4096 (+ 3) vectors per lane stay inside int32.
constexpr std::size_t max_iterations = 4096;

// The lanes of the four accumulators, summed as signed 64-bit values, plus the bias removed
// from each of the `pairs` 32-bit lanes that went into them.
template <std::size_t Lanes>
std::uint64_t widen(const std::int32_t (&lanes)[Lanes], std::uint64_t pairs) noexcept {
    std::int64_t s = 0;
    for (auto v : lanes)
        s += v;
    return static_cast<std::uint64_t>(s) + (pairs << 16);
}

// The 32-bit pair sums of the 16 words at `at`, each biased by -0x10000.
// __m256i_u is __m256i with an alignment of 1: the data may start anywhere.
__attribute__((target("avx2"))) inline __m256i pair_sums256(const std::byte* at) noexcept {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i_u*>(at));
    return _mm256_madd_epi16(_mm256_xor_si256(v, _mm256_set1_epi16(static_cast<short>(0x8000))),
                             _mm256_set1_epi16(1));
}

__attribute__((target("avx512f,avx512bw"))) inline __m512i
pair_sums512(const std::byte* at) noexcept {
    return _mm512_madd_epi16(
        _mm512_xor_si512(_mm512_loadu_si512(at), _mm512_set1_epi16(static_cast<short>(0x8000))),
        _mm512_set1_epi16(1));
}

} // namespace

__attribute__((target("avx2"))) std::uint64_t sum_avx2(const std::byte* p, std::size_t n) noexcept {
    std::uint64_t total = 0;
    while (n >= 32) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        const std::size_t steps = std::min(n / 128, max_iterations);
        for (std::size_t i = 0; i < steps; ++i, p += 128) {
            a0 = _mm256_add_epi32(a0, pair_sums256(p));
            a1 = _mm256_add_epi32(a1, pair_sums256(p + 32));
            a2 = _mm256_add_epi32(a2, pair_sums256(p + 64));
            a3 = _mm256_add_epi32(a3, pair_sums256(p + 96));
        }
        n -= steps * 128;
        std::size_t vectors = steps * 4;
        if (steps < max_iterations) // the last chunk: up to three single vectors remain
            for (; n >= 32; n -= 32, p += 32, ++vectors)
                a0 = _mm256_add_epi32(a0, pair_sums256(p));
        std::int32_t lanes[8];
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
        _mm256_storeu_si256(reinterpret_cast<__m256i_u*>(lanes), s);
        total += widen(lanes, vectors * 8);
    }
    return add_carry(total, sum_scalar(p, n));
}

__attribute__((target("avx512f,avx512bw"))) std::uint64_t sum_avx512(const std::byte* p,
                                                                     std::size_t n) noexcept {
    std::uint64_t total = 0;
    while (n >= 256) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        const std::size_t steps = std::min(n / 256, max_iterations);
        for (std::size_t i = 0; i < steps; ++i, p += 256) {
            a0 = _mm512_add_epi32(a0, pair_sums512(p));
            a1 = _mm512_add_epi32(a1, pair_sums512(p + 64));
            a2 = _mm512_add_epi32(a2, pair_sums512(p + 128));
            a3 = _mm512_add_epi32(a3, pair_sums512(p + 192));
        }
        n -= steps * 256;
        std::int32_t lanes[16];
        _mm512_storeu_si512(lanes,
                            _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)));
        total += widen(lanes, steps * 4 * 16);
    }
    return add_carry(total, sum_avx2(p, n));
}

} // namespace coronet::checksum::detail
#endif
