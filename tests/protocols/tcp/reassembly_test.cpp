#include "protocols/tcp/reassembly.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

using coronet::buffer_pool;
using coronet::buffer_pool_options;
using coronet::counter;
using coronet::packet;
using coronet::tcp::reassembly_queue;
using coronet::tcp::seq32;
using coronet::tcp::seq_range;
using offer = reassembly_queue::offer_result;

namespace {

// The byte a segment tagged `tag` carries at sequence number s: tags tell copies apart.
char byte_of(char tag, seq32 s) { return s.raw() % 10 == 0 ? tag : static_cast<char>(tag - 32); }

struct fixture {
    buffer_pool pool{buffer_pool_options{.buffer_size = 2048, .buffer_count = 256}};
    counter copied;

    // A segment [begin, end) of bytes tagged `tag`, in one buffer.
    packet segment(std::uint32_t begin, std::uint32_t end, char tag) {
        std::string s;
        for (seq32 q{begin}; q != seq32{end}; ++q)
            s += byte_of(tag, q);
        auto p = packet::allocate(pool, 0);
        REQUIRE(p);
        REQUIRE(p->append(std::as_bytes(std::span(s)), copied));
        return std::move(*p);
    }
    // Expected bytes [begin, end) tagged `tag`.
    static std::string bytes(std::uint32_t begin, std::uint32_t end, char tag) {
        std::string s;
        for (seq32 q{begin}; q != seq32{end}; ++q)
            s += byte_of(tag, q);
        return s;
    }
};

std::string contents(const packet& p) {
    std::string s(p.length(), '\0');
    REQUIRE(p.copy_out(0, std::as_writable_bytes(std::span(s))));
    return s;
}

std::vector<seq_range> ranges(std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> l) {
    std::vector<seq_range> v;
    for (auto [b, e] : l)
        v.push_back({seq32{b}, seq32{e}});
    return v;
}

std::vector<seq_range> sacks(const reassembly_queue& q, std::size_t max = 4) {
    std::array<seq_range, 4> out{};
    return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(q.sack_blocks(out, max))};
}

} // namespace

TEST_CASE_METHOD(fixture, "out-of-order data waits until rcv_nxt reaches it") {
    reassembly_queue q(1 << 20);
    CHECK(q.offer(seq32{200}, segment(200, 300, 'a'), seq32{100}) == offer::queued);
    CHECK(q.bytes() == 100);
    CHECK_FALSE(q.pop(seq32{100}));
    CHECK_FALSE(q.pop(seq32{199}));
    auto p = q.pop(seq32{200});
    REQUIRE(p);
    CHECK(contents(*p) == bytes(200, 300, 'a'));
    CHECK(q.empty());
    CHECK(q.bytes() == 0);
}

TEST_CASE_METHOD(fixture, "every overlap shape against one queued block [200, 300)") {
    reassembly_queue q(1 << 20);
    const seq32 rcv_nxt{100};
    REQUIRE(q.offer(seq32{200}, segment(200, 300, 'a'), rcv_nxt) == offer::queued);
    const std::string a = bytes(200, 300, 'a');

    struct shape {
        const char* name;
        std::uint32_t b, e;
        offer result;
        std::vector<seq_range> after;
        std::string first_block; // contents of the block at ranges()[0]
    };
    const shape shapes[] = {
        {"disjoint before", 120, 150, offer::queued, ranges({{120, 150}, {200, 300}}),
         bytes(120, 150, 'b')},
        {"adjacent before", 150, 200, offer::queued, ranges({{150, 300}}),
         bytes(150, 200, 'b') + a},
        {"overlapping the front", 150, 250, offer::queued, ranges({{150, 300}}),
         bytes(150, 200, 'b') + a},
        {"the same bytes", 200, 300, offer::duplicate, ranges({{200, 300}}), a},
        {"inside", 220, 280, offer::duplicate, ranges({{200, 300}}), a},
        {"the front part", 200, 250, offer::duplicate, ranges({{200, 300}}), a},
        {"covering it", 150, 350, offer::queued, ranges({{150, 350}}),
         bytes(150, 200, 'b') + a + bytes(300, 350, 'b')},
        {"overlapping the back", 250, 350, offer::queued, ranges({{200, 350}}),
         a + bytes(300, 350, 'b')},
        {"adjacent after", 300, 350, offer::queued, ranges({{200, 350}}), a + bytes(300, 350, 'b')},
        {"disjoint after", 400, 450, offer::queued, ranges({{200, 300}, {400, 450}}), a},
    };
    for (const auto& s : shapes) {
        DYNAMIC_SECTION(s.name) {
            const auto before = q.bytes();
            CHECK(q.offer(seq32{s.b}, segment(s.b, s.e, 'b'), rcv_nxt) == s.result);
            CHECK(q.ranges() == s.after);
            std::size_t total = 0;
            for (auto r : s.after)
                total += r.length();
            CHECK(q.bytes() == total);
            CHECK(q.stats().duplicate_bytes == (s.e - s.b) - (total - before));
            auto p = q.pop(s.after[0].begin);
            REQUIRE(p);
            CHECK(contents(*p) == s.first_block); // queued bytes won, new ones filled holes
        }
    }
}

TEST_CASE_METHOD(fixture, "a segment bridging blocks fills every hole and merges them") {
    reassembly_queue q(1 << 20);
    const seq32 rcv_nxt{100};
    REQUIRE(q.offer(seq32{200}, segment(200, 250, 'a'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{300}, segment(300, 350, 'c'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{400}, segment(400, 450, 'd'), rcv_nxt) == offer::queued);
    CHECK(q.block_count() == 3);
    CHECK(q.offer(seq32{150}, segment(150, 500, 'b'), rcv_nxt) == offer::queued);
    CHECK(q.ranges() == ranges({{150, 500}}));
    CHECK(q.bytes() == 350);
    CHECK(q.stats().duplicate_bytes == 150);
    auto p = q.pop(seq32{150});
    REQUIRE(p);
    CHECK(contents(*p) == bytes(150, 200, 'b') + bytes(200, 250, 'a') + bytes(250, 300, 'b') +
                              bytes(300, 350, 'c') + bytes(350, 400, 'b') + bytes(400, 450, 'd') +
                              bytes(450, 500, 'b'));
}

TEST_CASE_METHOD(fixture, "bytes before rcv_nxt are dropped") {
    reassembly_queue q(1 << 20);
    CHECK(q.offer(seq32{50}, segment(50, 100, 'a'), seq32{100}) == offer::duplicate);
    CHECK(q.offer(seq32{50}, segment(50, 150, 'a'), seq32{100}) == offer::queued);
    CHECK(q.ranges() == ranges({{100, 150}}));
    CHECK(q.stats().duplicate_bytes == 100);
    CHECK(q.offer(seq32{200}, packet{}, seq32{100}) == offer::duplicate); // empty
}

TEST_CASE_METHOD(fixture, "pop trims and drops what in-order data already delivered") {
    reassembly_queue q(1 << 20);
    const seq32 rcv_nxt{100};
    REQUIRE(q.offer(seq32{200}, segment(200, 300, 'a'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{400}, segment(400, 500, 'b'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{600}, segment(600, 700, 'c'), rcv_nxt) == offer::queued);
    auto p = q.pop(seq32{250}); // the engine received [100, 250) in order
    REQUIRE(p);
    CHECK(contents(*p) == bytes(250, 300, 'a'));
    CHECK_FALSE(q.pop(seq32{300}));
    CHECK(q.bytes() == 200);
    p = q.pop(seq32{650}); // and then [300, 650): the block [400, 500) is gone unseen
    REQUIRE(p);
    CHECK(contents(*p) == bytes(650, 700, 'c'));
    CHECK(q.empty());
    CHECK(q.bytes() == 0);
}

TEST_CASE_METHOD(fixture, "reassembly works across the 2^32 wrap") {
    reassembly_queue q(1 << 20);
    const seq32 rcv_nxt{0xffff'ff00u};
    REQUIRE(q.offer(seq32{0x80}, segment(0x80, 0x100, 'c'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{0xffff'ff80u}, segment(0xffff'ff80u, 0x10, 'b'), rcv_nxt) ==
            offer::queued);
    CHECK(q.ranges() == ranges({{0xffff'ff80u, 0x10}, {0x80, 0x100}}));
    REQUIRE(q.offer(seq32{0x8}, segment(0x8, 0x90, 'd'), rcv_nxt) == offer::queued);
    CHECK(q.ranges() == ranges({{0xffff'ff80u, 0x100}}));
    CHECK_FALSE(q.pop(rcv_nxt));
    auto p = q.pop(seq32{0xffff'ff80u});
    REQUIRE(p);
    CHECK(contents(*p) ==
          bytes(0xffff'ff80u, 0x10, 'b') + bytes(0x10, 0x80, 'd') + bytes(0x80, 0x100, 'c'));
}

TEST_CASE_METHOD(fixture, "the memory bound refuses new out-of-order bytes, and counts them") {
    reassembly_queue q(250);
    const seq32 rcv_nxt{100};
    CHECK(q.offer(seq32{200}, segment(200, 400, 'a'), rcv_nxt) == offer::queued);
    CHECK(q.offer(seq32{500}, segment(500, 600, 'b'), rcv_nxt) == offer::refused);
    CHECK(q.stats().segments_refused == 1);
    CHECK(q.stats().bytes_refused == 100);
    CHECK(q.ranges() == ranges({{200, 400}}));
    // Only the new bytes count: 50 of these 150 fit exactly.
    CHECK(q.offer(seq32{300}, segment(300, 450, 'c'), rcv_nxt) == offer::queued);
    CHECK(q.bytes() == 250);
    CHECK(q.offer(seq32{450}, segment(450, 451, 'c'), rcv_nxt) == offer::refused);
    // Duplicates are not refused, they are duplicates.
    CHECK(q.offer(seq32{200}, segment(200, 300, 'c'), rcv_nxt) == offer::duplicate);
    auto p = q.pop(seq32{200}); // delivering frees the budget
    REQUIRE(p);
    CHECK(q.offer(seq32{500}, segment(500, 600, 'b'), rcv_nxt) == offer::queued);
}

TEST_CASE_METHOD(fixture, "SACK blocks: the most recent segment's block first (RFC 2018 §4)") {
    reassembly_queue q(1 << 20);
    const seq32 rcv_nxt{100};
    REQUIRE(q.offer(seq32{200}, segment(200, 300, 'a'), rcv_nxt) == offer::queued);
    CHECK(sacks(q) == ranges({{200, 300}}));
    REQUIRE(q.offer(seq32{400}, segment(400, 500, 'a'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{600}, segment(600, 700, 'a'), rcv_nxt) == offer::queued);
    CHECK(sacks(q) == ranges({{600, 700}, {400, 500}, {200, 300}}));
    // A duplicate inside a block puts that block first too.
    REQUIRE(q.offer(seq32{420}, segment(420, 430, 'a'), rcv_nxt) == offer::duplicate);
    CHECK(sacks(q) == ranges({{400, 500}, {600, 700}, {200, 300}}));
    REQUIRE(q.offer(seq32{800}, segment(800, 900, 'a'), rcv_nxt) == offer::queued);
    REQUIRE(q.offer(seq32{1000}, segment(1000, 1100, 'a'), rcv_nxt) == offer::queued);
    // Three blocks with timestamps: the oldest reported ones drop out.
    CHECK(sacks(q, 3) == ranges({{1000, 1100}, {800, 900}, {400, 500}}));
    CHECK(sacks(q, 4) == ranges({{1000, 1100}, {800, 900}, {400, 500}, {600, 700}}));
    // A segment joining two blocks reports the merged block once.
    REQUIRE(q.offer(seq32{900}, segment(900, 1000, 'a'), rcv_nxt) == offer::queued);
    CHECK(sacks(q) == ranges({{800, 1100}, {400, 500}, {600, 700}, {200, 300}}));
    // Delivered blocks are no longer reported.
    REQUIRE(q.pop(seq32{200}));
    CHECK(sacks(q) == ranges({{800, 1100}, {400, 500}, {600, 700}}));
    q.clear();
    CHECK(sacks(q).empty());
}

TEST_CASE_METHOD(fixture,
                 "queued payload is never copied: delivered slices are the received ones") {
    reassembly_queue q(1 << 20);
    auto a = segment(200, 300, 'a');
    auto b = segment(100, 400, 'b');
    const auto* a_bytes = (*a.slices().begin()).data();
    const auto* b_bytes = (*b.slices().begin()).data();
    const auto copied_before = copied.value;
    REQUIRE(q.offer(seq32{200}, std::move(a), seq32{50}) == offer::queued);
    REQUIRE(q.offer(seq32{100}, std::move(b), seq32{50}) == offer::queued);
    auto p = q.pop(seq32{100});
    REQUIRE(p);
    std::vector<const std::byte*> pieces;
    for (auto s : p->slices())
        pieces.push_back(s.data());
    REQUIRE(pieces.size() == 3);
    CHECK(pieces[0] == b_bytes);
    CHECK(pieces[1] == a_bytes);
    CHECK(pieces[2] == b_bytes + 200);
    CHECK(copied.value == copied_before);
}

TEST_CASE_METHOD(fixture, "without packet descriptors a segment that must be cut is dropped") {
    reassembly_queue q(1 << 20);
    REQUIRE(q.offer(seq32{200}, segment(200, 300, 'a'), seq32{100}) == offer::queued);
    auto b = segment(150, 350, 'b');
    std::vector<packet> hoard; // takes every free descriptor
    for (;;) {
        auto s = b.share();
        if (!s) break;
        hoard.push_back(std::move(*s));
    }
    CHECK(q.offer(seq32{150}, std::move(b), seq32{100}) == offer::no_buffers);
    CHECK(q.stats().no_buffers == 1);
    CHECK(q.ranges() == ranges({{200, 300}}));
    hoard.clear();
}

TEST_CASE_METHOD(fixture, "random segments reassemble to first-arrival-wins bytes") {
    std::mt19937 rng(GENERATE(1u, 2u, 3u, 4u, 5u));
    const std::uint32_t base = GENERATE(0u, 0xffff'f000u); // and across the wrap
    reassembly_queue q(1 << 20);
    const seq32 rcv_nxt{base};
    std::map<std::uint32_t, char> expected; // offset -> byte
    for (int i = 0; i < 200; ++i) {
        const auto b = static_cast<std::uint32_t>(rng() % 4000 + 1);
        const auto len = static_cast<std::uint32_t>(rng() % 600 + 1);
        const char tag = static_cast<char>('a' + i % 26);
        const auto r = q.offer(rcv_nxt + b, segment(base + b, base + b + len, tag), rcv_nxt);
        REQUIRE(r != offer::refused);
        REQUIRE(r != offer::no_buffers);
        for (std::uint32_t k = b; k < b + len; ++k)
            expected.emplace(k, byte_of(tag, rcv_nxt + k)); // keeps the first
        REQUIRE(q.bytes() == expected.size());
        REQUIRE(q.ranges().size() == q.block_count());
    }
    // Fill [0, 1) and deliver everything contiguous from there.
    REQUIRE(q.offer(rcv_nxt, segment(base, base + 1, 'z'), rcv_nxt - 1) != offer::refused);
    expected.emplace(0, byte_of('z', rcv_nxt));
    std::string got;
    seq32 next = rcv_nxt;
    while (auto p = q.pop(next)) {
        got += contents(*p);
        next += static_cast<std::uint32_t>(p->length());
    }
    std::string want;
    for (std::uint32_t k = 0; expected.count(k) != 0; ++k)
        want += expected[k];
    CHECK(got == want);
}

TEST_CASE("1-byte segments in every other position, last first: at most max_block_count "
          "blocks, and each segment costs at most about that many steps") {
    // The budget of an auto-tuned 6 MiB window allows 12,288 blocks; each segment landing in
    // front of all the others shifted them all.
    buffer_pool pool{buffer_pool_options{.buffer_size = 2048, .buffer_count = 4096}};
    counter copied;
    reassembly_queue q(6 << 20);
    const std::byte one[1]{std::byte{'x'}};
    std::size_t refused = 0;
    for (std::uint32_t k = 3000; k >= 1; --k) {
        auto p = packet::allocate(pool, 0);
        REQUIRE(p);
        REQUIRE(p->append(one, copied));
        if (q.offer(seq32{2 * k}, std::move(*p), seq32{0}) == offer::refused) ++refused;
    }
    INFO("max steps of one call " << q.stats().max_call_steps);
    CHECK(q.block_count() == reassembly_queue::max_block_count);
    CHECK(refused == 3000 - reassembly_queue::max_block_count);
    // The shift, plus a few binary searches of 9 probes.
    CHECK(q.stats().max_call_steps <= reassembly_queue::max_block_count + 64);
    // The hole at the front fills: each pop shifts what remains, still within the bound.
    const auto before = q.stats().max_call_steps;
    for (std::uint32_t s = 0; s < 2 * 3000 + 1; ++s) {
        if (q.empty()) break;
        (void)q.pop(seq32{s});
    }
    CHECK(q.stats().max_call_steps <= reassembly_queue::max_block_count + 64);
    CHECK(q.stats().max_call_steps >= before);
}
