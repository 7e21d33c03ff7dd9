#pragma once
// congestion_control: what the TCP engine asks of a congestion-control algorithm, and the
// parts of loss recovery that every algorithm shares.
//
// Split of work. The engine detects events (new data ACKed, three duplicate ACKs or RFC 6675
// loss, a retransmission timeout, a full ACK ending recovery) and tells the algorithm; the
// algorithm owns cwnd and ssthresh. Windows are in bytes; `mss` is the sender's SMSS.
//
// Recovery. on_congestion_event() sets ssthresh and brings cwnd down to it, which is what a
// SACK sender wants (RFC 6675 §5 step 4.2: cwnd = ssthresh, with `pipe` deciding what to
// send). A sender without SACK runs RFC 5681 §3.2 / RFC 6582 fast recovery instead, whose
// window inflation and deflation are the helpers below: enter_fast_recovery() (step 4:
// cwnd = ssthresh + 3*SMSS), on_duplicate_ack() (step 5: cwnd += SMSS), on_partial_ack()
// (RFC 6582 §3.2 step 5). Deciding what is a partial or a full ACK (the "recover" point) is
// the engine's job. During recovery the engine does not call on_ack().
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "framework/clock.hpp"

namespace coronet::tcp {

// RFC 6928 §2: IW = min (10*MSS, max (2*MSS, 14600)).
constexpr std::uint32_t initial_window(std::uint32_t mss) noexcept {
    return std::min(10 * mss, std::max(2 * mss, std::uint32_t{14600}));
}

class congestion_control {
public:
    // The largest cwnd kept: windows cannot exceed 2^30 bytes (RFC 7323 §2.3) anyway.
    static constexpr std::uint32_t max_window = std::uint32_t{1} << 30;
    // ssthresh before the first loss: "arbitrarily high" (RFC 5681 §3.1).
    static constexpr std::uint32_t initial_ssthresh = max_window;

    explicit congestion_control(std::uint32_t mss) noexcept
        : mss_(std::max(mss, std::uint32_t{1})), cwnd_(initial_window(mss_)) {}
    virtual ~congestion_control() = default;
    congestion_control(const congestion_control&) = delete;
    congestion_control& operator=(const congestion_control&) = delete;

    virtual std::string_view name() const noexcept = 0;
    // `acked` bytes of new data were cumulatively acknowledged, outside recovery; `rtt` is
    // the smoothed RTT (zero before any sample), `now` the time from the caller's clock.
    virtual void on_ack(std::uint32_t acked, duration rtt, time_point now) = 0;
    // Loss detected by duplicate ACKs or SACK: ssthresh is set from `flight_size` (the bytes
    // outstanding when the loss was detected) and cwnd goes down to it. Once per window.
    virtual void on_congestion_event(std::uint32_t flight_size, time_point now) = 0;
    // The retransmission timer expired: ssthresh from `flight_size`, cwnd = 1 SMSS, slow start.
    virtual void on_rto_timeout(std::uint32_t flight_size, time_point now) = 0;
    // A full ACK ends recovery; `flight_size` is what is still outstanding after it.
    // RFC 6582 §3.2 step 3, option (1): cwnd = min (ssthresh, max (FlightSize, SMSS) + SMSS),
    // which avoids a burst when little is in flight.
    virtual void on_recovery_exit(std::uint32_t flight_size, time_point /*now*/) {
        cwnd_ = std::min(ssthresh_, std::max(flight_size, mss_) + mss_);
    }

    // --- RFC 5681 §3.2 / RFC 6582 fast recovery without SACK ---
    // Step 4: ssthresh as on_congestion_event(), then cwnd = ssthresh + 3*SMSS.
    void enter_fast_recovery(std::uint32_t flight_size, time_point now) {
        on_congestion_event(flight_size, now);
        grow(3 * mss_);
    }
    // Step 5: each further duplicate ACK inflates cwnd by SMSS.
    void on_duplicate_ack() noexcept { grow(mss_); }
    // RFC 6582 §3.2 step 5: "deflate the congestion window by the amount of new data
    // acknowledged by the cumulative acknowledgment field. If the partial ACK acknowledges
    // at least one SMSS of new data, then add back SMSS bytes". Never below one SMSS.
    void on_partial_ack(std::uint32_t acked) noexcept {
        cwnd_ = acked < cwnd_ ? cwnd_ - acked : 0;
        if (acked >= mss_) cwnd_ += mss_;
        cwnd_ = std::max(cwnd_, mss_);
    }

    std::uint32_t cwnd() const noexcept { return cwnd_; }
    std::uint32_t ssthresh() const noexcept { return ssthresh_; }
    std::uint32_t mss() const noexcept { return mss_; }
    // RFC 5681 §3.1: slow start while cwnd < ssthresh, congestion avoidance from there.
    bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }

protected:
    // cwnd += n, saturating at max_window.
    void grow(std::uint32_t n) noexcept {
        cwnd_ = n > max_window - std::min(cwnd_, max_window) ? max_window : cwnd_ + n;
    }

    std::uint32_t mss_;
    std::uint32_t cwnd_;
    std::uint32_t ssthresh_ = initial_ssthresh;
};

} // namespace coronet::tcp
