// coronet-load's latency histogram: buckets, percentiles against values whose percentiles
// are known, and the error bound it promises (1/128 of the value).
#include "examples/load/histogram.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

using coronet::load::histogram;

namespace {

// The exact percentile of sorted values, by the same nearest-rank rule.
std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double percent) {
    auto rank = static_cast<std::size_t>(std::ceil(percent / 100.0 * sorted.size()));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

} // namespace

TEST_CASE("load histogram: every value falls in a bucket that holds it, and buckets tile") {
    for (std::uint64_t v : {0ull, 1ull, 255ull, 256ull, 257ull, 511ull, 512ull, 1000ull,
                            123456789ull, (1ull << 40) + 12345, ~0ull}) {
        auto i = histogram::index_of(v);
        REQUIRE(i < histogram::bucket_count);
        CHECK(histogram::lowest_in(i) <= v);
        CHECK(v <= histogram::highest_in(i));
    }
    for (std::size_t i = 0; i + 1 < histogram::bucket_count; ++i)
        REQUIRE(histogram::highest_in(i) + 1 == histogram::lowest_in(i + 1));
    CHECK(histogram::highest_in(histogram::bucket_count - 1) == ~0ull);
    // No bucket is wider than 1/128 of its lowest value.
    for (std::size_t i = histogram::exact; i < histogram::bucket_count; ++i) {
        auto width = histogram::highest_in(i) - histogram::lowest_in(i) + 1;
        REQUIRE(width * 128 <= histogram::lowest_in(i));
    }
}

TEST_CASE("load histogram: small values are exact") {
    histogram h;
    for (std::uint64_t v = 1; v <= 100; ++v)
        h.record(v);
    CHECK(h.count() == 100);
    CHECK(h.min() == 1);
    CHECK(h.max() == 100);
    CHECK(h.percentile(50) == 50);
    CHECK(h.percentile(90) == 90);
    CHECK(h.percentile(99) == 99);
    CHECK(h.percentile(99.9) == 100);
    CHECK(h.percentile(100) == 100);
    CHECK(h.percentile(0) == 1);
    CHECK(h.mean() == Approx(50.5));
}

TEST_CASE("load histogram: 1..1,000,000 gives its percentiles within 1/128") {
    histogram h;
    for (std::uint64_t v = 1; v <= 1'000'000; ++v)
        h.record(v);
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        const double want = p / 100.0 * 1'000'000;
        const double got = static_cast<double>(h.percentile(p));
        CHECK(got >= want);
        CHECK(got <= want * (1 + 1.0 / 128));
    }
    CHECK(h.max() == 1'000'000);
    CHECK(h.percentile(100) == 1'000'000); // clamped to the largest value seen
}

TEST_CASE("load histogram: a long tail, its percentiles against the sorted values") {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> latency(std::log(200'000.0), 1.0); // ~200 us median
    std::vector<std::uint64_t> values;
    histogram h;
    for (int i = 0; i < 100'000; ++i) {
        auto v = static_cast<std::uint64_t>(latency(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        const auto want = exact(values, p);
        const auto got = h.percentile(p);
        CHECK(got >= want);
        CHECK(static_cast<double>(got - want) <= static_cast<double>(want) / 128);
    }
    CHECK(h.min() == values.front());
    CHECK(h.max() == values.back());
}

TEST_CASE("load histogram: merging two histograms is recording into one") {
    histogram a, b, both;
    for (std::uint64_t v = 0; v < 5000; ++v) {
        (v % 3 ? a : b).record(v * 977);
        both.record(v * 977);
    }
    a.merge(b);
    CHECK(a.count() == both.count());
    CHECK(a.min() == both.min());
    CHECK(a.max() == both.max());
    for (double p : {1.0, 50.0, 99.0, 99.9})
        CHECK(a.percentile(p) == both.percentile(p));
}

TEST_CASE("load histogram: an empty one reports zeros") {
    histogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile(99) == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0);
}
