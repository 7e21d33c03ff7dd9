#include "protocols/checksum/checksum.hpp"
#include "protocols/checksum/kernels.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using namespace coronet;

namespace {

std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
    std::vector<std::byte> v;
    for (auto x : values)
        v.push_back(static_cast<std::byte>(x));
    return v;
}

// RFC 1071 §4.1 written out naively: big-endian 16-bit words into a 32-bit accumulator.
std::uint16_t reference_sum(std::span<const std::byte> data) {
    std::uint64_t s = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        unsigned hi = std::to_integer<unsigned>(data[i]);
        unsigned lo = i + 1 < data.size() ? std::to_integer<unsigned>(data[i + 1]) : 0;
        s += hi << 8 | lo;
    }
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

std::vector<std::byte> random_bytes(std::mt19937& rng, std::size_t n) {
    std::vector<std::byte> v(n);
    for (auto& b : v)
        b = static_cast<std::byte>(rng());
    return v;
}

} // namespace

TEST_CASE("the RFC 1071 §3 example sums to ddf2") {
    auto data = bytes({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
    CHECK(checksum::sum(data) == 0xddf2);
    CHECK(checksum::compute(data) == 0x220d);
}

TEST_CASE("a captured IPv4 header verifies and its checksum recomputes to b861") {
    auto header = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
    CHECK(checksum::verify(header));
    header[10] = header[11] = std::byte{0};
    CHECK(checksum::compute(header) == 0xb861);
}

TEST_CASE("empty, all-zero and all-one data") {
    CHECK(checksum::sum({}) == 0);
    CHECK(checksum::compute({}) == 0xffff);
    std::vector<std::byte> zeros(1000), ones(1000, std::byte{0xff});
    CHECK(checksum::sum(zeros) == 0);
    CHECK(checksum::sum(ones) == 0xffff);
    CHECK(checksum::sum(std::span(ones).first(1)) == 0xff00); // an odd byte is the high half
}

TEST_CASE("every kernel matches the reference at every length 0..2048 and every alignment") {
    std::mt19937 rng(1071);
    auto buffer = random_bytes(rng, 2048 + 64);
    for (const auto& k : checksum::detail::kernels()) {
        if (!k.supported) continue;
        INFO("kernel " << k.name);
        for (std::size_t n = 0; n <= 2048; ++n) {
            const std::size_t offset = n % 61; // walks through every start alignment
            auto data = std::span<const std::byte>(buffer).subspan(offset, n);
            std::uint16_t native = checksum::fold(k.fn(data.data(), data.size()));
            INFO("length " << n);
            REQUIRE(checksum::byteswap16(native) == reference_sum(data));
        }
    }
}

TEST_CASE("sum matches the reference on random data of every length 0..2048") {
    std::mt19937 rng(42);
    for (std::size_t n = 0; n <= 2048; ++n) {
        auto data = random_bytes(rng, n);
        INFO("length " << n);
        REQUIRE(checksum::sum(data) == reference_sum(data));
    }
}

TEST_CASE("vector kernels handle data long enough to refill their lane accumulators") {
    std::mt19937 rng(5);
    auto big = random_bytes(rng, 5 * 1024 * 1024 + 3);
    std::vector<std::byte> ones(5 * 1024 * 1024 + 2, std::byte{0xff}); // the largest lane values
    for (const auto& k : checksum::detail::kernels()) {
        if (!k.supported) continue;
        INFO("kernel " << k.name);
        CHECK(checksum::byteswap16(checksum::fold(k.fn(big.data(), big.size()))) ==
              reference_sum(big));
        CHECK(checksum::fold(k.fn(ones.data(), ones.size())) == 0xffff);
    }
}

TEST_CASE("a partial sum over a chain of slices equals the sum of the whole") {
    std::mt19937 rng(1624);
    for (int trial = 0; trial < 2000; ++trial) {
        const std::size_t n = rng() % 2049;
        auto data = random_bytes(rng, n);
        checksum::partial p;
        std::size_t at = 0;
        while (at < n) { // slices of random lengths, odd and even, some empty
            std::size_t len = std::min<std::size_t>(n - at, rng() % 300);
            p.add(std::span(data).subspan(at, len));
            at += len;
        }
        INFO("length " << n);
        REQUIRE(p.length() == n);
        REQUIRE(p.sum() == reference_sum(data));
    }
}

TEST_CASE("a slice that starts at an odd offset is byte-swapped into the sum") {
    auto data = bytes({0x12, 0x34, 0x56});
    checksum::partial p;
    p.add(std::span(data).first(1)).add(std::span(data).subspan(1));
    CHECK(p.sum() == 0x1234 + 0x5600);
    CHECK(p.checksum() == checksum::compute(data));
}

TEST_CASE("the pseudo-header sum equals the sum of the pseudo-header bytes") {
    auto pseudo = bytes({10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0x00, 0x28});
    CHECK(checksum::pseudo_header_sum({10, 0, 0, 1}, {10, 0, 0, 2}, 6, 40) ==
          reference_sum(pseudo));
    checksum::partial p(
        checksum::pseudo_header_sum({192, 168, 0, 1}, {192, 168, 0, 199}, 17, 0xffff));
    auto same = bytes({192, 168, 0, 1, 192, 168, 0, 199, 0, 17, 0xff, 0xff});
    CHECK(p.sum() == reference_sum(same));
}

TEST_CASE("RFC 1624 eqn. 3 update equals a full recomputation") {
    std::mt19937 rng(3);
    for (int trial = 0; trial < 10000; ++trial) {
        auto data = random_bytes(rng, 20);
        data[10] = data[11] = std::byte{0};
        const std::uint16_t before = checksum::compute(data);
        const std::size_t word = 2 * (rng() % 10);
        if (word == 10) continue; // the checksum field itself
        const std::uint16_t m = load_be16(std::span(data).subspan(word));
        const std::uint16_t m_new = static_cast<std::uint16_t>(trial % 7 == 0 ? m : rng());
        store_be16(std::span(data).subspan(word), m_new);
        REQUIRE(checksum::update(before, m, m_new) == checksum::compute(data));
    }
}

TEST_CASE("RFC 1624 update of a TTL decrement and of a rewritten address") {
    // The captured header above: TTL 0x40 -> 0x3f is the word 0x4011 -> 0x3f11.
    auto header = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
    std::uint16_t hc = checksum::update(0xb861, 0x4011, 0x3f11);
    header[8] = std::byte{0x3f};
    store_be16(std::span(header).subspan(10), hc);
    CHECK(checksum::verify(header));
    hc = checksum::update32(hc, ipv4_address{192, 168, 0, 1}.to_uint(),
                            ipv4_address{10, 1, 2, 3}.to_uint());
    ipv4_address{10, 1, 2, 3}.write_to(std::span(header).subspan(12));
    store_be16(std::span(header).subspan(10), hc);
    CHECK(checksum::verify(header));
}
