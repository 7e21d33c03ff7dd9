#pragma once
// CUBIC (RFC 9438). Windows in the formulas are in segments (SMSS), times in seconds; cwnd is
// kept in bytes like every algorithm's, with the fraction of a byte carried between ACKs.
//
//   W_cubic(t) = C * (t - K)^3 + W_max                                    (§4.2, eq. 1)
//   K = cubic_root((W_max - cwnd_epoch) / C)                              (§4.2, eq. 2)
//     = cubic_root(W_max * (1 - beta_cubic) / C) right after a loss
//   per ACK in congestion avoidance, t = now - t_epoch:
//     target = W_cubic(t + RTT) clamped to [cwnd, 1.5 * cwnd]             (§4.2)
//     W_est += alpha_cubic * segments_acked / cwnd                        (§4.3, eq. 4)
//     alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic), 1 once W_est >= cwnd_prior
//     if W_cubic(t) < W_est: cwnd = W_est   (Reno-friendly region, §4.3)
//     else cwnd += (target - cwnd) / cwnd per segment acked (concave §4.4, convex §4.5)
//   on loss:  ssthresh = max(flight_size * beta_cubic, 2), cwnd_prior = cwnd, cwnd = ssthresh
//             W_max = cwnd * (1 + beta_cubic) / 2 if cwnd < W_max (fast convergence, §4.7)
//             else W_max = cwnd                                           (§4.6)
//   timeout:  ssthresh as on loss, cwnd = 1; the next epoch has K = 0 and W_max = cwnd_epoch
//             (§4.8)
//   slow start is standard (§4.10), with byte counting as in newreno.hpp.
// The epoch (t_epoch, cwnd_epoch, K) starts at the first ACK in congestion avoidance after
// slow start, a loss or a timeout. When cwnd_epoch >= W_max (no loss yet, or a timeout),
// K = 0 and the curve starts from cwnd_epoch, as in Linux.
// Two deviations, both toward stability: the Reno-friendly step never lowers cwnd, and an
// epoch's curve is measured from the first ACK after recovery rather than from the loss.
#include <optional>

#include "protocols/tcp/congestion.hpp"

namespace coronet::tcp {

struct cubic_options {
    double c = 0.4;    // C, segments / second^3
    double beta = 0.7; // beta_cubic
    bool fast_convergence = true;
    std::uint32_t abc_limit = 2; // slow start's L, in segments
};

class cubic final : public congestion_control {
public:
    explicit cubic(std::uint32_t mss, cubic_options options = {}) noexcept
        : congestion_control(mss), options_(options) {}

    std::string_view name() const noexcept override { return "cubic"; }
    void on_ack(std::uint32_t acked, duration rtt, time_point now) override;
    void on_congestion_event(std::uint32_t flight_size, time_point now) override;
    void on_rto_timeout(std::uint32_t flight_size, time_point now) override;

    // W_cubic(t) = C * (t - K)^3 + W_max, in segments (eq. 1).
    double w_cubic(double t) const noexcept;
    // The state of the current epoch: W_max and W_est in segments, K in seconds.
    double w_max() const noexcept { return w_max_; }
    double w_est() const noexcept { return w_est_; }
    double k() const noexcept { return k_; }
    std::optional<time_point> epoch_start() const noexcept { return epoch_; }

private:
    void start_epoch(time_point now) noexcept;
    void set_cwnd(double segments) noexcept;
    double cwnd_segments() const noexcept { return (cwnd_ + frac_) / mss_; }
    void reduce(std::uint32_t flight_size) noexcept;

    cubic_options options_;
    double w_max_ = 0;      // segments; 0 before the first loss
    double cwnd_prior_ = 0; // segments, cwnd just before the last reduction
    double w_est_ = 0;
    double alpha_ = 0;
    double origin_ = 0; // the curve's plateau: W_max, or cwnd_epoch when above it
    double k_ = 0;
    double frac_ = 0; // bytes of cwnd below one, kept between ACKs
    std::optional<time_point> epoch_;
};

} // namespace coronet::tcp
