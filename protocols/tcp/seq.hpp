#pragma once
// seq32: a TCP sequence number, and ts32: a TCP timestamp value. Both live in a 32-bit space
// that wraps, and both are compared modulo 2^32 (RFC 9293 §3.4 for sequence numbers, RFC 7323
// §5.2 for timestamps): a < b iff (int32_t)(a - b) < 0. This header is the one place where that
// arithmetic is written; everything else in the TCP engine goes through these types.
//
// Why a strong type. A raw uint32_t compared with `<` is right until the connection crosses
// 2^32 and wrong ever after, and the bug only shows on long transfers. With seq32 the only
// comparisons that compile are the modular ones.
//
// The order is only meaningful for values less than 2^31 apart: that is why TCP windows are
// bounded by 2^30 (RFC 7323 §2.3). Two values exactly 2^31 apart are each "less" than the
// other; nothing in TCP ever compares such a pair.
#include <compare>
#include <cstdint>
#include <iosfwd>

namespace coronet::tcp {

template <class Tag>
class serial32 {
public:
    constexpr serial32() = default;
    constexpr explicit serial32(std::uint32_t raw) noexcept : v_(raw) {}
    constexpr std::uint32_t raw() const noexcept { return v_; }

    // Moving forward (or back) by a byte count wraps at 2^32.
    friend constexpr serial32 operator+(serial32 a, std::uint32_t n) noexcept {
        return serial32(a.v_ + n);
    }
    friend constexpr serial32 operator-(serial32 a, std::uint32_t n) noexcept {
        return serial32(a.v_ - n);
    }
    constexpr serial32& operator+=(std::uint32_t n) noexcept {
        v_ += n;
        return *this;
    }
    constexpr serial32& operator-=(std::uint32_t n) noexcept {
        v_ -= n;
        return *this;
    }
    constexpr serial32& operator++() noexcept {
        ++v_;
        return *this;
    }

    // The signed difference a - b: how far a lies ahead of b (negative when behind).
    friend constexpr std::int32_t operator-(serial32 a, serial32 b) noexcept {
        return static_cast<std::int32_t>(a.v_ - b.v_); // modular since C++20
    }
    friend constexpr bool operator==(serial32, serial32) = default;
    // RFC 9293 §3.4: "a < b" iff (int32)(a - b) < 0.
    friend constexpr std::strong_ordering operator<=>(serial32 a, serial32 b) noexcept {
        return (a - b) <=> 0;
    }

private:
    std::uint32_t v_ = 0;
};

struct seq_tag {};
struct ts_tag {};
using seq32 = serial32<seq_tag>;
using ts32 = serial32<ts_tag>;

// The bytes from `from` forward to `to`, modulo 2^32 (to - from as an unsigned count): the
// length of [from, to) when to is not behind from.
template <class Tag>
constexpr std::uint32_t distance(serial32<Tag> from, serial32<Tag> to) noexcept {
    return to.raw() - from.raw();
}

// start <= s < start + len, modulo 2^32; false when len is 0. Valid for any len up to 2^32 - 1,
// so it holds even where the ordered comparisons would not (windows near 2^31).
template <class Tag>
constexpr bool in_window(serial32<Tag> s, serial32<Tag> start, std::uint32_t len) noexcept {
    return distance(start, s) < len;
}

// lo <= s <= hi, modulo 2^32, for an interval given by its ends (hi not behind lo).
template <class Tag>
constexpr bool in_closed_range(serial32<Tag> s, serial32<Tag> lo, serial32<Tag> hi) noexcept {
    return distance(lo, s) <= distance(lo, hi);
}

template <class Tag>
constexpr serial32<Tag> seq_min(serial32<Tag> a, serial32<Tag> b) noexcept {
    return b < a ? b : a;
}
template <class Tag>
constexpr serial32<Tag> seq_max(serial32<Tag> a, serial32<Tag> b) noexcept {
    return a < b ? b : a;
}

// The bytes [begin, end) of the sequence space: a segment, a SACK block, a hole.
struct seq_range {
    seq32 begin;
    seq32 end;

    constexpr std::uint32_t length() const noexcept { return distance(begin, end); }
    constexpr bool empty() const noexcept { return begin == end; }
    constexpr bool contains(seq32 s) const noexcept { return in_window(s, begin, length()); }
    // True when every byte of `r` lies in this range (an empty r lies anywhere inside).
    constexpr bool contains(const seq_range& r) const noexcept {
        return distance(begin, r.begin) <= length() &&
               distance(r.begin, r.end) <= distance(r.begin, end);
    }
    friend constexpr bool operator==(const seq_range&, const seq_range&) = default;
};

std::ostream& operator<<(std::ostream& os, seq32 s);
std::ostream& operator<<(std::ostream& os, const seq_range& r);
std::ostream& operator<<(std::ostream& os, ts32 s);

} // namespace coronet::tcp
