#pragma once
// A token bucket for the ICMP errors a host sends (RFC 1812 §4.3.2.8 and RFC 1122 §3.2.2
// ask for a limit; Linux's icmp_ratelimit/icmp_msgs_per_sec uses a bucket like this).
// `rate` tokens per second flow in, up to `burst`; each error takes one or is not sent.
#include "framework/clock.hpp"

#include <algorithm>
#include <cstdint>

namespace coronet::icmp {

struct rate_limit_options {
    std::uint32_t rate = 1000; // messages per second
    std::uint32_t burst = 50;
};

class rate_limiter {
public:
    explicit rate_limiter(rate_limit_options opts, time_point now = {}) noexcept
        : opts_(opts), tokens_(std::int64_t{opts.burst} * scale), last_(now) {}

    bool allow(time_point now) noexcept {
        // Tokens are kept in units of 1e-9 token so that refill is exact in integers:
        // rate tokens per second is `rate` units per nanosecond.
        const std::int64_t elapsed = std::max<std::int64_t>(0, (now - last_).count());
        last_ = now;
        const std::int64_t cap = std::int64_t{opts_.burst} * scale;
        const std::int64_t rate = opts_.rate;
        const std::int64_t refill = rate == 0 ? 0 : elapsed > cap / rate ? cap : elapsed * rate;
        tokens_ = std::min(cap, tokens_ + refill);
        if (tokens_ < scale) return false;
        tokens_ -= scale;
        return true;
    }
    const rate_limit_options& opts() const noexcept { return opts_; }

private:
    static constexpr std::int64_t scale = 1'000'000'000;
    rate_limit_options opts_;
    std::int64_t tokens_;
    time_point last_;
};

} // namespace coronet::icmp
