// Tail loss probe (RFC 8985 §7). A loss at the tail of a flight draws no duplicate ACKs, so
// before this it waited for the RTO. Now, while data is in flight and the connection is not
// recovering, the retransmission timer first runs as the probe timer: when it expires one
// segment leaves (new data, or the last segment again), whose ACK and SACK blocks let the
// usual recovery see the loss, or which repairs it itself. The RTO backs the probe up.
//
// As Linux: one timer for both (probe_armed_), at most one probe outstanding, probes only
// on connections that negotiated SACK (a duplicate ACK without SACK blocks says too little
// about what the probe found), and none after a timeout until a new RTT sample.
//
// Was a loss repaired? RFC 8985 §7.4: if the probe retransmitted and the ACK shows that
// only the probe arrived, the loss was real and congestion control must respond once, as a
// fast recovery would; if the original arrived too (a DSACK for the probe, or a duplicate
// ACK at TLPHighRxt), there was no loss. An ACK of exactly TLPHighRxt is ambiguous: the
// original may have arrived first and the probe's DSACK still be coming. With timestamps the
// echo settles it at once (the probe's TSval echoed: the original never arrived, as in
// Eifel, RFC 3522 §2); without, the next ACK does (beyond TLPHighRxt: a loss), as Linux's
// tcp_process_tlp_ack.
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>

namespace coronet::tcp {

namespace {
// RFC 8985 §7.2 WCDelAckT: the worst-case delayed ACK timer of the receiver.
constexpr duration worst_case_delayed_ack = std::chrono::milliseconds(200);
// RFC 8985 §7.2: "If SRTT is not available, PTO = 1 second" (Linux: TCP_TIMEOUT_INIT).
constexpr duration probe_timeout_without_srtt = std::chrono::seconds(1);
} // namespace

bool socket::probe_allowed() const noexcept {
    return layer_ != nullptr && layer_->cfg().tail_loss_probe && sack_ok_ &&
           synchronized(state_) && state_ != state::time_wait && !in_recovery_ &&
           rtt_.backoffs() == 0 && snd_una_ != snd_max_ && snd_nxt_ == snd_max_ && !tlp_high_;
}

duration socket::probe_timeout() const noexcept {
    // RFC 8985 §7.2: "PTO = 2 * SRTT; If FlightSize is one segment, PTO += WCDelAckT", and a
    // probe that would come after the RTO goes at the RTO's time instead. The RTO runs from
    // the last ACK of new data or the first segment into an empty pipe (una_since_). A
    // larger flight waits timeout_min more, as Linux's tcp_schedule_loss_probe: 2 x SRTT
    // alone sent a spurious probe for 1 echo in 20 (16 KiB, 64 connections over TAP, SRTT of
    // a few hundred us), the peer's ACK already queued behind other connections' frames.
    const auto srtt = rtt_.srtt();
    duration pto = srtt ? 2 * *srtt : probe_timeout_without_srtt;
    if (flight_size() <= mss_)
        pto += worst_case_delayed_ack;
    else if (srtt)
        pto += timeout_min;
    const time_point now = layer_->now();
    const time_point rto_at = una_since_ + rtt_.rto();
    return std::min(pto, rto_at > now ? rto_at - now : duration::zero());
}

void socket::arm_rtx_or_probe(bool restart_rto) {
    if (probe_allowed()) {
        arm(rtx_timer_, probe_timeout());
        probe_armed_ = true;
        return;
    }
    if (restart_rto || !rtx_timer_.armed() || probe_armed_) arm_rtx();
}

void socket::probe_timer_expired() {
    probe_armed_ = false;
    if (layer_ == nullptr || snd_una_ == snd_max_) return;
    if (!probe_allowed()) return arm_rtx();
    // RFC 8985 §7.3: "If a previously unsent segment exists AND the receive window allows
    // new data to be sent: Transmit that new segment" (cwnd does not hold a probe back).
    // "Else: Retransmit the last segment", the highest sequence sent, with its FIN if any.
    const std::uint32_t unsent = snd_nxt_ < snd_.end() ? distance(snd_nxt_, snd_.end()) : 0;
    const seq32 right = snd_una_ + snd_wnd_;
    const std::uint32_t room = right > snd_nxt_ ? distance(snd_nxt_, right) : 0;
    bool sent = false;
    const time_point prior_sent_at = last_sent_at_;
    if (unsent > 0 && room > 0) {
        const std::uint32_t len = std::min({unsent, room, send_mss()});
        const bool fin = fin_queued_ && len == unsent;
        flag f = flag::ack;
        if (len == unsent) f |= flag::psh;
        if (fin) f |= flag::fin;
        const seq32 at = snd_nxt_;
        if (send_segment(at, len, f)) {
            snd_nxt_ += len + (fin ? 1 : 0);
            snd_max_ = seq_max(snd_max_, snd_nxt_);
            tlp_rxt_out_ = false;
            tlp_seq_ = at;
            sent = true;
        }
    } else {
        const bool fin_sent = fin_queued_ && snd_max_ == fin_seq() + 1;
        const seq32 data_end = fin_sent ? fin_seq() : snd_max_;
        const std::uint32_t len =
            data_end > snd_una_ ? std::min(send_mss(), distance(snd_una_, data_end)) : 0;
        const seq32 at = data_end - len;
        flag f = flag::ack;
        if (len > 0) f |= flag::psh;
        if (fin_sent) f |= flag::fin;
        if ((len > 0 || fin_sent) && send_segment(at, len, f)) {
            tlp_rxt_out_ = true;
            tlp_seq_ = at;
            sent = true;
        }
    }
    if (sent) {
        ++layer_->stats().tlp_probes;
        tlp_high_ = snd_max_; // TLPHighRxt
        tlp_ts_ = ts_now().raw();
        // The echo can only tell the copies apart when they carried different TSvals.
        tlp_ts_usable_ = ts_ok_ && tlp_rxt_out_ && tlp_ts_ != high_tx_ts_;
        tlp_flight_ = flight_size();
        tlp_sent_at_ = layer_->now();
        tlp_prior_sent_at_ = prior_sent_at;
    }
    arm_rtx(); // RFC 8985 §7.3: after the probe, the RTO
}

bool socket::probe_acked(const segment& seg, seq32 prior_una, std::span<const seq_range> blocks) {
    const seq32 ack = seg.ack();
    const seq32 high = *tlp_high_;
    if (tlp_rxt_out_ && !blocks.empty()) {
        // RFC 2883 §4: a DSACK is a first block below the cumulative ACK or inside the
        // second. One over the probe's bytes: the original and the probe both arrived.
        const seq_range& d = blocks[0];
        const bool dsack = d.end <= ack ||
                           (blocks.size() > 1 && blocks[1].begin <= d.begin && d.end <= blocks[1].end);
        if (dsack && d.begin < high && tlp_seq_ < d.end) {
            end_probe_episode();
            return false;
        }
    }
    if (ack < high) return false;
    if (!tlp_rxt_out_ || ack > high) {
        // A probe of new data delivered, nothing to judge; or an ACK beyond TLPHighRxt and
        // no DSACK for the probe: the probe was the only copy that arrived.
        end_probe_episode();
        return tlp_rxt_out_;
    }
    if (ack > prior_una) {
        // This ACK delivered the probe's bytes: which copy did the receiver see?
        const auto& ts = seg.header.options.timestamps;
        if (tlp_ts_usable_ && ts && ts->echo_reply != 0) {
            end_probe_episode();
            return ts32(ts->echo_reply) >= ts32(tlp_ts_);
        }
        return false; // the next ACK tells
    }
    // A duplicate ACK at TLPHighRxt: the second copy arrived (RFC 8985 §7.4.2).
    if (seg.payload.empty() && blocks.empty()) end_probe_episode();
    return false;
}

bool socket::probe_marks_lost(bool sacked_before) {
    // RFC 8985 §6.2: a segment is lost when one sent after it was delivered and a reordering
    // window has passed since: "RACK.xmit_ts >= Segment.xmit_ts AND now >= Segment.xmit_ts +
    // RACK.rtt + RACK.reo_wnd", with RACK.rtt = now - RACK.xmit_ts, i.e. Segment.xmit_ts +
    // reo_wnd <= RACK.xmit_ts. Here RACK.xmit_ts is the probe's: a probe leaves only in the
    // open state with no backoff (probe_allowed), so every unSACKed byte below it last left
    // at or before tlp_prior_sent_at_, and all of them pass together or none does. Without
    // this, the probe's SACK alone is one SACKed segment above the hole, short of RFC 6675's
    // DupThresh, and a tail loss of two or more segments waited for the RTO.
    if (!tlp_high_ || in_recovery_ || !sb_ || sacked_before) return false;
    if (!layer_->cfg().tail_loss_rack || !sb_->is_sacked(tlp_seq_) || !(snd_una_ < tlp_seq_))
        return false;
    // RFC 8985 §6.2 step 2: a retransmitted probe, was it the probe or the original that
    // arrived? An answer sooner than min_RTT after the probe cannot be the probe's (as
    // Linux's tcp_rack_advance). The echoed TSval does not tell: the receiver echoes
    // TS.Recent, which an out-of-order segment does not update (RFC 7323 §4.3). A probe of
    // new data has no original.
    const duration min_rtt = min_rtt_.value_or(duration::zero());
    if (tlp_rxt_out_ && layer_->now() - tlp_sent_at_ < min_rtt) return false;
    // RFC 8985 §6.2 step 4: reo_wnd = min_RTT / 4 (no DSACK-driven growth here). Data sent
    // less than reo_wnd before the probe would need RACK's reordering timer, not kept: the
    // RTO repairs it, as before.
    if (tlp_sent_at_ - tlp_prior_sent_at_ < min_rtt / 4) return false;
    ++layer_->stats().tlp_rack_losses;
    sb_->mark_lost(tlp_seq_);
    return true;
}

void socket::probe_repaired_loss() {
    // RFC 8985 §7.4.2: "invoke the congestion control response equivalent to fast recovery"
    // (RFC 5681 §3.2 eq. 4: ssthresh from FlightSize, here the flight the probe left in).
    ++layer_->stats().tlp_recoveries;
    cc_->on_congestion_event(tlp_flight_, layer_->now());
}

} // namespace coronet::tcp
