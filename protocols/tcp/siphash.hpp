#pragma once
// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
// 64-bit hash, the PRF F that RFC 6528 asks for in initial sequence numbers and the MAC in SYN
// cookies. Short inputs (a 4-tuple is 12 bytes) are what it was designed for; Linux uses it
// for both purposes too.
#include <cstddef>
#include <cstdint>
#include <span>

namespace coronet::tcp {

struct siphash_key {
    std::uint64_t k0 = 0; // key bytes 0..7, little-endian
    std::uint64_t k1 = 0; // key bytes 8..15, little-endian
    static siphash_key from_bytes(std::span<const std::byte, 16> bytes) noexcept;
    // A key for one purpose (`domain`) from a 64-bit seed, by splitmix64: different domains
    // give unrelated keys, and a fixed seed gives the same keys on every run (simulation).
    static siphash_key derive(std::uint64_t seed, std::uint64_t domain) noexcept;
};

std::uint64_t siphash24(const siphash_key& key, std::span<const std::byte> message) noexcept;

// A seed from the operating system's random source, for a stack that is not simulated.
std::uint64_t random_seed();

} // namespace coronet::tcp
