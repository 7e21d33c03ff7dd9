#include "protocols/tcp/seq.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using coronet::tcp::seq32;
using coronet::tcp::ts32;

namespace tcp = coronet::tcp;

TEST_CASE("seq32 orders values modulo 2^32 across the wrap") {
    const seq32 before_wrap{0xffff'fff0u};
    const seq32 after_wrap{0x0000'0010u};
    CHECK(before_wrap < after_wrap); // 0x20 ahead, although numerically larger
    CHECK(after_wrap > before_wrap);
    CHECK(before_wrap <= after_wrap);
    CHECK_FALSE(after_wrap < before_wrap);
    CHECK(seq32{5} < seq32{6});
    CHECK(seq32{6} > seq32{5});
    CHECK(seq32{7} <= seq32{7});
    CHECK(seq32{7} >= seq32{7});
    CHECK_FALSE(seq32{7} < seq32{7});
    // The largest distance that still orders: 2^31 - 1 ahead.
    CHECK(seq32{0} < seq32{0x7fff'ffffu});
    CHECK(seq32{0} > seq32{0x8000'0001u}); // 2^31 + 1 "ahead" is behind
}

TEST_CASE("seq32 arithmetic wraps at 2^32") {
    CHECK((seq32{0xffff'fffeu} + 3).raw() == 1u);
    CHECK((seq32{1} - 3).raw() == 0xffff'fffeu);
    seq32 s{0xffff'ffffu};
    ++s;
    CHECK(s.raw() == 0u);
    s += 0x10;
    CHECK(s == seq32{0x10});
    s -= 0x20;
    CHECK(s == seq32{0xffff'fff0u});
}

TEST_CASE("seq32 difference is signed, distance is unsigned, both modulo 2^32") {
    CHECK(seq32{0x10} - seq32{0xffff'fff0u} == 0x20);
    CHECK(seq32{0xffff'fff0u} - seq32{0x10} == -0x20);
    CHECK(tcp::distance(seq32{0xffff'fff0u}, seq32{0x10}) == 0x20u);
    CHECK(tcp::distance(seq32{0x10}, seq32{0xffff'fff0u}) == 0xffff'ffe0u);
    CHECK(tcp::distance(seq32{42}, seq32{42}) == 0u);
}

TEST_CASE("in_window is start <= s < start + len, across the wrap") {
    const seq32 start{0xffff'fffcu};
    CHECK(tcp::in_window(start, start, 8));
    CHECK(tcp::in_window(seq32{0xffff'ffffu}, start, 8));
    CHECK(tcp::in_window(seq32{0}, start, 8));
    CHECK(tcp::in_window(seq32{3}, start, 8));        // the last byte
    CHECK_FALSE(tcp::in_window(seq32{4}, start, 8));  // one past
    CHECK_FALSE(tcp::in_window(start - 1, start, 8)); // one before
    CHECK_FALSE(tcp::in_window(start, start, 0));     // an empty window holds nothing
    // Windows beyond 2^31 still work, where < would not.
    CHECK(tcp::in_window(seq32{0x9000'0000u}, seq32{0}, 0xa000'0000u));
    CHECK_FALSE(tcp::in_window(seq32{0xa000'0000u}, seq32{0}, 0xa000'0000u));
}

TEST_CASE("in_closed_range includes both ends, across the wrap") {
    const seq32 lo{0xffff'fff0u};
    const seq32 hi{0x10};
    CHECK(tcp::in_closed_range(lo, lo, hi));
    CHECK(tcp::in_closed_range(hi, lo, hi));
    CHECK(tcp::in_closed_range(seq32{0}, lo, hi));
    CHECK_FALSE(tcp::in_closed_range(hi + 1, lo, hi));
    CHECK_FALSE(tcp::in_closed_range(lo - 1, lo, hi));
    CHECK(tcp::in_closed_range(lo, lo, lo));
}

TEST_CASE("seq_min and seq_max follow the modular order") {
    const seq32 a{0xffff'ff00u};
    const seq32 b{0x100};
    CHECK(tcp::seq_min(a, b) == a);
    CHECK(tcp::seq_min(b, a) == a);
    CHECK(tcp::seq_max(a, b) == b);
    CHECK(tcp::seq_max(b, a) == b);
    CHECK(tcp::seq_max(b, b) == b);
}

TEST_CASE("ts32 compares like seq32 but is a different type") {
    CHECK(ts32{0xffff'fff0u} < ts32{0x10});
    CHECK(ts32{0x10} - ts32{0xffff'fff0u} == 0x20);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<ts32, seq32>);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<std::uint32_t, seq32>);
}

TEST_CASE("seq32 is constexpr") {
    constexpr seq32 s = seq32{0xffff'ffffu} + 2;
    STATIC_REQUIRE(s.raw() == 1u);
    STATIC_REQUIRE(seq32{0xffff'ffffu} < s);
}

TEST_CASE("seq_range measures and contains across the wrap") {
    using coronet::tcp::seq_range;
    const seq_range r{seq32{0xffff'fff0u}, seq32{0x10}};
    CHECK(r.length() == 0x20u);
    CHECK_FALSE(r.empty());
    CHECK(seq_range{seq32{5}, seq32{5}}.empty());
    CHECK(r.contains(seq32{0}));
    CHECK(r.contains(seq32{0xffff'fff0u}));
    CHECK_FALSE(r.contains(seq32{0x10}));
    CHECK(r.contains(seq_range{seq32{0xffff'fff8u}, seq32{0x8}}));
    CHECK(r.contains(r));
    CHECK_FALSE(r.contains(seq_range{seq32{0xffff'fff8u}, seq32{0x11}}));
    CHECK_FALSE(r.contains(seq_range{seq32{0xffff'ffefu}, seq32{0x8}}));
}
