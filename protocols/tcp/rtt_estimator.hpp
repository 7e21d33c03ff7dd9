#pragma once
// rtt_estimator: the retransmission timer's value, per RFC 6298, and rtt_sampler: where its
// samples come from without breaking Karn's rule.
//
// RFC 6298 §2, with alpha = 1/8, beta = 1/4, K = 4:
//   first sample R:   SRTT <- R;  RTTVAR <- R/2                                       (§2.2)
//   later sample R':  RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
//                     SRTT <- (1 - alpha) * SRTT + alpha * R'    (RTTVAR first, old SRTT) (§2.3)
//   after either:     RTO <- SRTT + max(G, K * RTTVAR)                                (§2.2, §2.3)
//   before any:       RTO <- 1 second                                                 (§2.1)
// clamped to [min_rto, max_rto] (§2.4 asks for 1 s; like Linux we default to 200 ms; §2.5
// allows a maximum of at least 60 s). On expiry the timer backs off, RTO <- RTO * 2 (§5.5),
// up to max_rto; a new sample (which Karn's rule only allows from a segment that was not
// retransmitted) recomputes RTO and ends the backoff.
//
// Arithmetic is in integer nanoseconds: the divisions by 8, 4 and 2 truncate.
#include <algorithm>
#include <cstdint>
#include <optional>

#include "framework/clock.hpp"
#include "protocols/tcp/seq.hpp"

namespace coronet::tcp {

// Linux's TCP_TIMEOUT_MIN, added to the timers that run a small multiple of the RTT (RACK's
// reorder timer, the tail loss probe's PTO): with an RTT of 100 us, 2 x SRTT is shorter than
// the time a loop serving many connections takes to reach an ACK that came on time, and a
// probe or a loss mark would go for data that was never lost.
inline constexpr duration timeout_min = std::chrono::milliseconds(2);

struct rtt_options {
    duration initial_rto = std::chrono::seconds(1); // RFC 6298 §2.1
    duration min_rto = std::chrono::milliseconds(200);
    duration max_rto = std::chrono::seconds(120);
    duration granularity = std::chrono::milliseconds(1); // G: the timer's resolution
};

class rtt_estimator {
public:
    static constexpr int k = 4;

    explicit rtt_estimator(rtt_options options = {}) noexcept : options_(options) {}

    // A new round-trip measurement (RFC 6298 §2.2 or §2.3). Ends any backoff.
    void sample(duration r) noexcept {
        if (r < duration::zero()) r = duration::zero();
        if (!srtt_) {
            srtt_ = r;       // SRTT <- R
            rttvar_ = r / 2; // RTTVAR <- R/2
        } else {
            const duration err = *srtt_ > r ? *srtt_ - r : r - *srtt_;
            rttvar_ = (3 * rttvar_ + err) / 4; // (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'|
            *srtt_ = (7 * *srtt_ + r) / 8;     // (1 - 1/8) * SRTT + 1/8 * R'
        }
        // RTO <- SRTT + max(G, K * RTTVAR)
        base_rto_ = clamp(*srtt_ + std::max(options_.granularity, k * rttvar_));
        backoffs_ = 0;
    }

    // The timer expired (RFC 6298 §5.5): RTO <- RTO * 2, at most max_rto.
    void backoff() noexcept { ++backoffs_; }
    // Leaves the backoff without a sample (the engine's choice, e.g. after a new connection).
    void reset_backoff() noexcept { backoffs_ = 0; }

    // The value to arm the retransmission timer with, backoff included.
    duration rto() const noexcept {
        duration r = base_rto_;
        for (unsigned i = 0; i < backoffs_ && r < options_.max_rto; ++i)
            r *= 2;
        return std::min(r, options_.max_rto);
    }
    // How many times in a row the timer has backed off (the engine gives up after some).
    unsigned backoffs() const noexcept { return backoffs_; }
    bool has_sample() const noexcept { return srtt_.has_value(); }
    // SRTT, or nullopt before the first sample.
    std::optional<duration> srtt() const noexcept { return srtt_; }
    duration rttvar() const noexcept { return rttvar_; }
    const rtt_options& options() const noexcept { return options_; }

private:
    duration clamp(duration r) const noexcept {
        return std::min(std::max(r, options_.min_rto), options_.max_rto);
    }

    rtt_options options_;
    std::optional<duration> srtt_;
    duration rttvar_{0};
    duration base_rto_ = clamp(options_.initial_rto);
    unsigned backoffs_ = 0;
};

// One timed segment at a time, the classic way (RFC 6298 §3): time the segment ending at
// `end` sent at `sent`; an ACK covering `end` yields a sample. Karn's rule: a segment that was
// retransmitted gives no sample, since the ACK cannot say which transmission it answers, so a
// retransmission over the timed range cancels the measurement.
class rtt_sampler {
public:
    // Starts timing the segment [begin, end) unless one is timed already.
    void on_send(seq32 begin, seq32 end, time_point now) noexcept {
        if (timing_ || begin == end) return;
        timing_ = true;
        begin_ = begin;
        end_ = end;
        sent_ = now;
    }
    // Bytes [begin, end) went out again: if they overlap the timed segment, no sample.
    void on_retransmit(seq32 begin, seq32 end) noexcept {
        if (timing_ && begin < end_ && begin_ < end) timing_ = false;
    }
    // The retransmission timer fired: everything in flight will be sent again.
    void cancel() noexcept { timing_ = false; }
    // A cumulative ACK up to `ack` arrived at `now`: the sample when it covers the timed
    // segment.
    std::optional<duration> on_ack(seq32 ack, time_point now) noexcept {
        if (!timing_ || ack < end_) return std::nullopt;
        timing_ = false;
        return now - sent_;
    }
    bool timing() const noexcept { return timing_; }

private:
    bool timing_ = false;
    seq32 begin_;
    seq32 end_;
    time_point sent_;
};

// With timestamps (RFC 7323 §4.1), every ACK that acknowledges new data measures the RTT of
// the transmission whose TSval it echoes, retransmitted or not: RTT = now - TSecr, in the
// ticks of the timestamp clock. nullopt when TSecr lies in the future (a bogus echo).
// RFC 7323 §4.2 also forbids samples from ACKs that acknowledge no new data; the caller
// knows that, so it passes `acks_new_data`.
constexpr std::optional<duration> timestamp_rtt(ts32 now, ts32 echo_reply, duration tick,
                                                bool acks_new_data) noexcept {
    if (!acks_new_data || now < echo_reply) return std::nullopt;
    return tick * distance(echo_reply, now);
}

} // namespace coronet::tcp
