// The stream coronet-bulk sends and checks (examples/common/pattern.hpp): the block-wise fill
// and check agree with the byte formula wherever a span starts and ends, a wrong, shifted or
// missing byte shows, and the hash does not depend on how the stream was cut into pieces.
#include "examples/common/pattern.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace coronet::examples;

namespace {

std::vector<std::byte> pattern(std::uint64_t offset, std::size_t n) {
    std::vector<std::byte> v(n);
    fill_pattern(v, offset);
    return v;
}

std::uint64_t hash_in_pieces(std::span<const std::byte> bytes, std::size_t piece) {
    fnv1a h;
    for (std::size_t at = 0; at < bytes.size(); at += piece)
        h.update(bytes.subspan(at, std::min(piece, bytes.size() - at)));
    return h.value();
}

} // namespace

TEST_CASE("pattern: the block-wise fill is the byte formula at any offset and length",
          "[examples][pattern]") {
    // Offsets on, just before and just after the 256-byte and 64 KiB steps of the formula.
    for (std::uint64_t offset :
         {0ull, 1ull, 255ull, 256ull, 65535ull, 65536ull, 16777215ull, (1ull << 40) + 77}) {
        for (std::size_t n : {0u, 1u, 255u, 256u, 257u, 1000u, 70000u}) {
            const auto v = pattern(offset, n);
            std::size_t wrong = 0;
            for (std::size_t i = 0; i < n; ++i)
                wrong += v[i] != pattern_byte(offset + i);
            INFO("offset " << offset << ", length " << n);
            CHECK(wrong == 0);
        }
    }
}

TEST_CASE("pattern: the check counts each byte that is not the stream's", "[examples][pattern]") {
    auto v = pattern(1000, 5000);
    CHECK(pattern_mismatches(v, 1000) == 0);
    v[0] ^= std::byte{1};
    v[2999] ^= std::byte{0x80};
    v[4999] = ~v[4999];
    CHECK(pattern_mismatches(v, 1000) == 3);
    // The same bytes one place later in the stream (a byte lost before them) all differ.
    const auto w = pattern(1000, 5000);
    CHECK(pattern_mismatches(std::span(w).subspan(1), 1000) == 4999);
}

TEST_CASE("pattern: the hash is the same however the stream is cut", "[examples][pattern]") {
    const auto v = pattern(0, 100003); // not a whole number of words
    const std::uint64_t whole = hash_in_pieces(v, v.size());
    for (std::size_t piece : {1u, 3u, 7u, 8u, 9u, 4096u, 65537u})
        CHECK(hash_in_pieces(v, piece) == whole);
}

TEST_CASE("pattern: a changed, swapped or added byte changes the hash", "[examples][pattern]") {
    const auto v = pattern(0, 4099);
    const std::uint64_t good = hash_in_pieces(v, v.size());
    for (std::size_t at : {0u, 7u, 8u, 2048u, 4098u}) { // word starts, ends and the tail
        for (std::byte flip : {std::byte{1}, std::byte{0x80}}) {
            auto bad = v;
            bad[at] ^= flip;
            INFO("byte " << at);
            CHECK(hash_in_pieces(bad, bad.size()) != good);
        }
    }
    auto swapped = v;
    std::swap(swapped[100], swapped[101]);
    CHECK(hash_in_pieces(swapped, swapped.size()) != good);
    auto longer = v;
    longer.push_back(std::byte{0}); // a zero byte more: the length is in the hash
    CHECK(hash_in_pieces(longer, longer.size()) != good);
    CHECK(fnv1a{}.value() != good);
}
