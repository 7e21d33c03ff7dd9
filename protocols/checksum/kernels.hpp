#pragma once
// The loops behind checksum::sum(), exposed so that tests can check each one and the benchmark
// can time each one, whichever the CPU dispatch picks.
//
// A kernel returns a 64-bit one's complement accumulator (end-around carries included) of the
// data read as native-endian 16-bit words, an odd last byte padded with a zero byte after it.
// 2^64 - 1 is a multiple of 2^16 - 1, so checksum::fold() of it is the 16-bit sum in native
// byte order; sum() swaps that once on little-endian hosts.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace coronet::checksum::detail {

using kernel_fn = std::uint64_t (*)(const std::byte* data, std::size_t size) noexcept;

struct kernel {
    std::string_view name;
    kernel_fn fn;
    bool supported; // whether this CPU can run it
};

// Portable: four 64-bit add-with-carry chains, 32 bytes per iteration.
std::uint64_t sum_scalar(const std::byte* data, std::size_t size) noexcept;

#if defined(__x86_64__)
// Pairwise word sums in 32-bit lanes (vpmaddwd): 128 bytes (AVX2) or 256 bytes
// (AVX-512BW) per iteration. Call only when the CPU has the extension.
std::uint64_t sum_avx2(const std::byte* data, std::size_t size) noexcept;
std::uint64_t sum_avx512(const std::byte* data, std::size_t size) noexcept;
#endif

// Every kernel compiled in, fastest last; the ones this CPU lacks are marked unsupported.
std::span<const kernel> kernels() noexcept;

// The kernel that sum() uses on this CPU.
const kernel& selected_kernel() noexcept;

} // namespace coronet::checksum::detail
