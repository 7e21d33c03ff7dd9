#pragma once
// NewReno's window (RFC 5681 §3.1, with RFC 3465 appropriate byte counting):
//   slow start (cwnd < ssthresh):  cwnd += min (N, L*SMSS) per ACK of N new bytes
//                                  (RFC 3465 §2.2, L = 2 by default; L = 1 is RFC 5681 eq. 2)
//   congestion avoidance:          bytes_acked += N; once bytes_acked >= cwnd:
//                                  bytes_acked -= cwnd, cwnd += SMSS (RFC 3465 §2.1)
//   loss (dup ACKs / SACK):        ssthresh = max (FlightSize / 2, 2*SMSS), cwnd = ssthresh
//                                  (RFC 5681 §3.2 eq. 4; fast recovery adds 3*SMSS, see
//                                  congestion.hpp)
//   retransmission timeout:        ssthresh = max (FlightSize / 2, 2*SMSS), cwnd = 1 SMSS
//                                  (RFC 5681 §3.1 eq. 4 and the loss window LW)
#include "protocols/tcp/congestion.hpp"

namespace coronet::tcp {

struct newreno_options {
    std::uint32_t abc_limit = 2; // L, in segments
};

class newreno final : public congestion_control {
public:
    explicit newreno(std::uint32_t mss, newreno_options options = {}) noexcept
        : congestion_control(mss), options_(options) {}

    std::string_view name() const noexcept override { return "newreno"; }
    void on_ack(std::uint32_t acked, duration rtt, time_point now) override;
    void on_congestion_event(std::uint32_t flight_size, time_point now) override;
    void on_rto_timeout(std::uint32_t flight_size, time_point now) override;

    // The congestion-avoidance byte counter (RFC 3465 §2.1).
    std::uint32_t bytes_acked() const noexcept { return bytes_acked_; }

private:
    std::uint32_t loss_ssthresh(std::uint32_t flight_size) const noexcept {
        return std::max(flight_size / 2, 2 * mss_);
    }

    newreno_options options_;
    std::uint32_t bytes_acked_ = 0;
};

} // namespace coronet::tcp
