#include "protocols/tcp/cubic.hpp"

#include <cmath>

namespace coronet::tcp {

namespace {
double seconds(duration d) { return std::chrono::duration<double>(d).count(); }
} // namespace

double cubic::w_cubic(double t) const noexcept {
    const double d = t - k_;
    return options_.c * d * d * d + origin_; // C * (t - K)^3 + W_max
}

void cubic::start_epoch(time_point now) noexcept {
    epoch_ = now;
    const double cwnd_epoch = cwnd_segments();
    if (w_max_ > cwnd_epoch) {
        origin_ = w_max_;
        k_ = std::cbrt((w_max_ - cwnd_epoch) / options_.c); // K = cbrt((W_max - cwnd_epoch) / C)
    } else {
        origin_ = cwnd_epoch;
        k_ = 0;
    }
    w_est_ = cwnd_epoch;
    // alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic), or 1 once W_est >= cwnd_prior.
    alpha_ = w_est_ >= cwnd_prior_ ? 1.0 : 3 * (1 - options_.beta) / (1 + options_.beta);
}

void cubic::set_cwnd(double segments) noexcept {
    const double bytes = std::min(segments * mss_, static_cast<double>(max_window));
    const double whole = std::floor(bytes);
    cwnd_ = static_cast<std::uint32_t>(whole);
    frac_ = bytes - whole;
}

void cubic::on_ack(std::uint32_t acked, duration rtt, time_point now) {
    if (in_slow_start()) {
        grow(std::min(acked, options_.abc_limit * mss_));
        return;
    }
    if (!epoch_) start_epoch(now);
    const double cwnd = cwnd_segments();
    const double segments_acked = static_cast<double>(acked) / mss_;
    const double t = seconds(now - *epoch_);

    // target = W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd]
    const double target = std::clamp(w_cubic(t + seconds(rtt)), cwnd, 1.5 * cwnd);

    // W_est += alpha_cubic * segments_acked / cwnd
    w_est_ += alpha_ * segments_acked / cwnd;
    if (w_est_ >= cwnd_prior_) alpha_ = 1.0;

    if (w_cubic(t) < w_est_)
        set_cwnd(std::max(cwnd, w_est_)); // Reno-friendly region
    else
        set_cwnd(cwnd + (target - cwnd) / cwnd * segments_acked); // concave or convex region
}

void cubic::reduce(std::uint32_t flight_size) noexcept {
    // ssthresh = flight_size * beta_cubic, at least 2 segments (§4.6)
    const double s = std::max(static_cast<double>(flight_size) * options_.beta, 2.0 * mss_);
    ssthresh_ = static_cast<std::uint32_t>(std::min(s, static_cast<double>(max_window)));
    epoch_.reset();
    frac_ = 0;
}

void cubic::on_congestion_event(std::uint32_t flight_size, time_point) {
    const double cwnd = cwnd_segments();
    // §4.7: cwnd < W_max means the available capacity shrank: release some to new flows.
    if (options_.fast_convergence && cwnd < w_max_)
        w_max_ = cwnd * (1 + options_.beta) / 2;
    else
        w_max_ = cwnd;
    cwnd_prior_ = cwnd;
    reduce(flight_size);
    cwnd_ = ssthresh_;
}

void cubic::on_rto_timeout(std::uint32_t flight_size, time_point) {
    cwnd_prior_ = cwnd_segments();
    reduce(flight_size);
    w_max_ = 0; // §4.8: the next epoch starts with K = 0 and W_max = cwnd_epoch
    cwnd_ = mss_;
}

} // namespace coronet::tcp
