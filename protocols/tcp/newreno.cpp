#include "protocols/tcp/newreno.hpp"

namespace coronet::tcp {

void newreno::on_ack(std::uint32_t acked, duration, time_point) {
    if (in_slow_start()) {
        grow(std::min(acked, options_.abc_limit * mss_)); // cwnd += min (N, L*SMSS)
        return;
    }
    bytes_acked_ += std::min(acked, max_window);
    if (bytes_acked_ >= cwnd_) {
        bytes_acked_ -= cwnd_;
        grow(mss_);
        // One SMSS per ACK at most (RFC 3465 §2.1); a stretch ACK's excess is not banked.
        bytes_acked_ = std::min(bytes_acked_, cwnd_);
    }
}

void newreno::on_congestion_event(std::uint32_t flight_size, time_point) {
    ssthresh_ = loss_ssthresh(flight_size); // max (FlightSize / 2, 2*SMSS)
    cwnd_ = ssthresh_;
    bytes_acked_ = 0;
}

void newreno::on_rto_timeout(std::uint32_t flight_size, time_point) {
    ssthresh_ = loss_ssthresh(flight_size);
    cwnd_ = mss_; // LW = 1 SMSS
    bytes_acked_ = 0;
}

} // namespace coronet::tcp
