#include "protocols/tcp/siphash.hpp"

#include <bit>
#include <random>

namespace coronet::tcp {

namespace {

std::uint64_t load_le64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

struct state {
    std::uint64_t v0, v1, v2, v3;

    void round() noexcept { // SipRound
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    void compress(std::uint64_t m) noexcept { // c = 2 rounds per message word
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

} // namespace

siphash_key siphash_key::from_bytes(std::span<const std::byte, 16> bytes) noexcept {
    return {load_le64(bytes.data()), load_le64(bytes.data() + 8)};
}

siphash_key siphash_key::derive(std::uint64_t seed, std::uint64_t domain) noexcept {
    std::uint64_t x = seed ^ splitmix64(domain);
    const auto k0 = splitmix64(x);
    return {k0, splitmix64(x)};
}

std::uint64_t siphash24(const siphash_key& key, std::span<const std::byte> message) noexcept {
    state s{key.k0 ^ 0x736f6d6570736575u, key.k1 ^ 0x646f72616e646f6du,
            key.k0 ^ 0x6c7967656e657261u, key.k1 ^ 0x7465646279746573u};
    const std::size_t whole = message.size() / 8 * 8;
    for (std::size_t i = 0; i < whole; i += 8)
        s.compress(load_le64(message.data() + i));
    // The last word: the remaining bytes, and the length modulo 256 in the top byte.
    std::uint64_t last = std::uint64_t{message.size() & 0xff} << 56;
    for (std::size_t i = whole; i < message.size(); ++i)
        last |= std::to_integer<std::uint64_t>(message[i]) << (8 * (i - whole));
    s.compress(last);
    s.v2 ^= 0xff; // finalization: d = 4 rounds
    for (int i = 0; i < 4; ++i)
        s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

std::uint64_t random_seed() {
    std::random_device rd;
    return std::uint64_t{rd()} << 32 | rd();
}

} // namespace coronet::tcp
