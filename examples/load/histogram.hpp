#pragma once
// A latency histogram in the manner of HdrHistogram: log-linear buckets over the whole
// uint64 range, so recording is an index computation and an increment (no allocation, no
// sort), and every percentile it reports is within 1/128 (0.8 %) of the true value.
//
// Values below 256 have a bucket each. Above, each power of two [2^k, 2^(k+1)) is cut into
// 128 equal buckets of width 2^(k-7): a bucket is never wider than 1/128 of its smallest
// value. A percentile is the highest value of the bucket where the count reaches it (as
// HdrHistogram's "highest equivalent value"), clamped to the largest value recorded;
// min and max are exact.
#include <array>
#include <cstddef>
#include <cstdint>

namespace coronet::load {

class histogram {
public:
    static constexpr unsigned sub_bits = 8;                // 256 exact values, then 128 per octave
    static constexpr std::uint64_t exact = 1u << sub_bits; // values below have a bucket each
    static constexpr std::size_t half = exact / 2;         // buckets per octave above that
    static constexpr std::size_t bucket_count = exact + (64 - sub_bits) * half;

    void record(std::uint64_t value) noexcept;
    // Adds another histogram's counts (histograms of several connections or cores).
    void merge(const histogram& other) noexcept;

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
    // The value at or below which `percent` (0..100) of the recorded values lie; 0 when empty.
    std::uint64_t percentile(double percent) const noexcept;

    // The bucket a value falls in, and the lowest and highest values that bucket holds.
    static std::size_t index_of(std::uint64_t value) noexcept;
    static std::uint64_t lowest_in(std::size_t index) noexcept;
    static std::uint64_t highest_in(std::size_t index) noexcept;

private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = ~std::uint64_t{0};
    std::uint64_t max_ = 0;
    // Sum for the mean; nanosecond latencies wrap it only after 584 years' worth.
    std::uint64_t sum_ = 0;
};

} // namespace coronet::load
