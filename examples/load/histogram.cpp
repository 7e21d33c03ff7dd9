#include "examples/load/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace coronet::load {

std::size_t histogram::index_of(std::uint64_t value) noexcept {
    if (value < exact) return static_cast<std::size_t>(value);
    // value's top bit is bit `top` (>= sub_bits); its next sub_bits - 1 bits pick the bucket.
    const unsigned top = 63 - static_cast<unsigned>(std::countl_zero(value));
    const unsigned shift = top - (sub_bits - 1);                      // >= 1
    const auto sub = static_cast<std::size_t>(value >> shift) - half; // 0 .. half-1
    return exact + (shift - 1) * half + sub;
}

std::uint64_t histogram::lowest_in(std::size_t index) noexcept {
    if (index < exact) return index;
    const std::size_t shift = (index - exact) / half + 1;
    const std::size_t sub = (index - exact) % half;
    return static_cast<std::uint64_t>(half + sub) << shift;
}

std::uint64_t histogram::highest_in(std::size_t index) noexcept {
    if (index < exact) return index;
    const std::size_t shift = (index - exact) / half + 1;
    return lowest_in(index) + ((std::uint64_t{1} << shift) - 1);
}

void histogram::record(std::uint64_t value) noexcept {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void histogram::merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::uint64_t histogram::percentile(double percent) const noexcept {
    if (count_ == 0) return 0;
    percent = std::clamp(percent, 0.0, 100.0);
    // The rank of the value asked for: at least 1, so percentile(0) is the minimum.
    auto rank =
        static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = index_of(min_); i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::clamp(highest_in(i), min_, max_);
    }
    return max_;
}

} // namespace coronet::load
