// ACK processing (RFC 9293 §3.10.7.4, fifth check) and loss recovery: RTT samples (RFC 6298,
// RFC 7323 §4), fast retransmit and NewReno fast recovery (RFC 5681 §3.2, RFC 6582), limited
// transmit (RFC 3042) and SACK-based recovery (RFC 6675).
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>
#include <array>

namespace coronet::tcp {

bool socket::process_ack(const segment& seg) {
    const seq32 ack = seg.ack();
    // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT) then send an ACK, drop the
    // segment"; RFC 5961 §5.2: one older than SND.UNA - MAX.SND.WND gets a challenge ACK.
    if (ack > snd_max_) {
        send_ack();
        return false;
    }
    const std::uint32_t max_wnd = std::max<std::uint32_t>(max_snd_wnd_, 65535);
    if (ack < snd_una_ - max_wnd) {
        send_challenge_ack();
        return false;
    }
    persist_probes_ = 0; // the peer is alive: window probes may go on (RFC 1122 §4.2.2.17)
    if (snd_una_ == iss_ && ack > iss_) {
        // Our SYN (a passive open's SYN-ACK) is acknowledged: its round trip is the first RTT
        // sample (RFC 6298 §2.2), unless it was retransmitted (Karn, §3), as the active opener
        // takes its SYN's in input_syn_sent. Without it the first RTO stayed 1 s (§2.1).
        if (auto r = sampler_.on_ack(iss_ + 1, layer_->now())) {
            rtt_.sample(*r);
            min_rtt_ = min_rtt_ ? std::min(*min_rtt_, *r) : *r;
        }
        snd_una_ = iss_ + 1;
    }
    std::array<seq_range, max_sack_blocks> blocks;
    std::size_t n = 0;
    if (sack_ok_) {
        const seq32 cumulative = seq_max(ack, snd_una_);
        for (std::size_t i = 0; i < seg.header.options.sack_count; ++i) {
            const auto& b = seg.header.options.sack_blocks[i];
            const seq_range r{seq32(b.left), seq32(b.right)};
            // A block is a range of what we sent (RFC 2018 §3): an inverted one, or one that
            // ends beyond SND.MAX, is made up; one wholly below the cumulative ACK is a D-SACK
            // only as the first block (RFC 2883 §4). Dropped here, before the scoreboard and
            // the tail loss probe read them.
            if (!(r.begin < r.end) || snd_max_ < r.end || (i != 0 && r.end <= cumulative)) {
                ++layer_->stats().sack_blocks_invalid;
                continue;
            }
            blocks[n++] = r;
        }
    }
    const auto sacks = std::span(blocks).first(n);
    const bool probe_sacked_before = tlp_high_ && sb_ && sb_->is_sacked(tlp_seq_);
    const std::uint32_t sacked_before = sb_ ? sb_->sacked_bytes() : 0;
    const rack_cumulative cumulative = rack_cumulative_part(ack);
    sack_scoreboard::ack_result sacked;
    if (sack_ok_ && ack >= snd_una_ && (sb_ || n != 0))
        sacked = scoreboard().on_ack(ack, snd_max_, sacks);
    // RFC 6937 DeliveredData: the change in SND.UNA plus the change in the SACKed bytes (those
    // the ACK covers cumulatively leave the SACKed count, so they are not counted twice).
    {
        const std::int64_t una_delta = ack > snd_una_ ? distance(snd_una_, ack) : 0;
        const std::int64_t sacked_delta =
            std::int64_t{sb_ ? sb_->sacked_bytes() : 0} - std::int64_t{sacked_before};
        ack_delivered_ = static_cast<std::uint32_t>(std::max<std::int64_t>(una_delta + sacked_delta, 0));
        ack_una_advanced_ = una_delta > 0;
    }
    const bool was_in_recovery = in_recovery_;
    const bool was_in_loss = in_loss_;
    // RFC 8985 §7.4: judged before this ACK moves anything, answered after it did.
    const bool probe_repaired = tlp_high_ && ack >= snd_una_ && probe_acked(seg, snd_una_, sacks);
    // RFC 8985 §6.2: the probe's own rule, then RACK's for every segment (before SND.UNA
    // moves, and before a duplicate ACK's count decides on recovery: it reads IsLost).
    bool rack_lost = ack >= snd_una_ && probe_marks_lost(probe_sacked_before);
    if (ack >= snd_una_ && rack_on_ack(ack, cumulative, sacked, sacks)) rack_lost = true;
    if (ack > snd_una_) {
        on_new_ack(seg, distance(snd_una_, ack));
    } else if (ack == snd_una_) {
        on_duplicate_ack(seg);
    }
    if (rack_ && ((was_in_recovery && !in_recovery_) || (was_in_loss && !in_loss_)))
        rack_->on_recovery_exit();
    // RFC 6675 §5: the first unacknowledged segment is lost (by RACK's rule above) and no
    // duplicate ACK started recovery (an ACK of new data, or a changed window): start it
    // here, once, as on_duplicate_ack would.
    if (rack_lost && !in_recovery_ && sb_->is_lost(snd_una_) &&
        (snd_una_ > recover_ || recover_ == iss_))
        enter_recovery();
    // RFC 6937: every ACK of a SACK recovery (not the one that began it, which
    // enter_recovery answered, nor the one that ended it) sends what PRR allows.
    if (was_in_recovery && in_recovery_ && sack_ok_ && sb_) {
        prr_on_ack();
        sack_recovery_send();
    }
    if (probe_repaired) probe_repaired_loss();
    update_window(seg);
    return true;
}

void socket::update_window(const segment& seg) noexcept {
    // RFC 9293 §3.10.7.4: "If SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK),
    // set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK";
    // RFC 7323 §2.3: the field is shifted by the peer's scale.
    if (!(snd_wl1_ < seg.seq() || (snd_wl1_ == seg.seq() && snd_wl2_ <= seg.ack()))) return;
    const std::uint32_t before = snd_wnd_;
    snd_wnd_ = std::uint32_t{seg.header.window} << snd_wscale_;
    snd_wl1_ = seg.seq();
    snd_wl2_ = seg.ack();
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    if (before == 0 && snd_wnd_ != 0) {
        // The window opens: what was sent beyond SND.UNA meanwhile (window probes) fell
        // outside a zero window, so sending resumes at SND.UNA, as BSD's, whose forced probe
        // never advances SND.NXT; skipping it left a hole only a retransmission could fill.
        persist_timer_.cancel();
        persist_backoff_ = 0;
        snd_nxt_ = snd_una_;
    }
}

void socket::on_new_ack(const segment& seg, std::uint32_t acked) {
    const time_point now = layer_->now();
    const seq32 ack = seg.ack();
    // RTT: with timestamps every ACK of new data measures (RFC 7323 §4.1); otherwise the one
    // timed segment, never a retransmitted one (Karn, RFC 6298 §3).
    std::optional<duration> sample;
    if (ts_ok_ && seg.header.options.timestamps && seg.header.options.timestamps->echo_reply != 0 &&
        echo_valid(seg.header.options.timestamps->echo_reply))
        sample = timestamp_rtt(ts_now(), ts32(seg.header.options.timestamps->echo_reply),
                               std::chrono::milliseconds(1), true);
    else
        sample = sampler_.on_ack(ack, now);
    if (sample) {
        rtt_.sample(*sample);
        min_rtt_ = min_rtt_ ? std::min(*min_rtt_, *sample) : *sample;
    }

    const seq32 data_acked = seq_min(ack, snd_.end());
    if (snd_.begin() < data_acked) counts_.bytes_acked += distance(snd_.begin(), data_acked);
    snd_.acknowledge(data_acked);
    snd_una_ = ack;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    una_since_ = now;
    dupacks_ = 0;
    if (ack >= recover_) in_loss_ = false; // what was outstanding at the timeout is ACKed
    if (in_recovery_) {
        if (ack >= recover_) {
            // RFC 6582 §3.2 step 3: a full acknowledgment ends recovery, and deflates the
            // window it inflated. A SACK sender's cwnd was ssthresh throughout, `pipe` keeping
            // what it sent in bounds (RFC 6675 §5 has no deflation, nor Linux): it stays there.
            // Deflating it to FlightSize + SMSS cut it to a few segments whenever the full ACK
            // came late and covered nearly everything, then slow start had to climb back.
            in_recovery_ = false;
            if (!sack_ok_) cc_->on_recovery_exit(flight_size(), now);
        } else if (!sack_ok_) {
            // Step 5, a partial acknowledgment: retransmit the first unacknowledged segment,
            // deflate the window, and reset the retransmission timer.
            const std::uint32_t len =
                std::min<std::uint32_t>(send_mss(), static_cast<std::uint32_t>(snd_.size()));
            if (len > 0 && !send_segment(snd_una_, len, flag::ack)) rtx_refused_ = true;
            cc_->on_partial_ack(acked);
            arm_rtx();
        }
    } else {
        cc_->on_ack(acked, rtt_.srtt().value_or(duration::zero()), now);
    }
    // RFC 6298 §5.2/5.3: stop the timer when everything is acknowledged, else restart it
    // (or arm the tail loss probe, RFC 8985 §7.2, which the RTO then backs up).
    if (snd_una_ == snd_max_)
        rtx_timer_.cancel();
    else
        arm_rtx_or_probe(true);
    if (snd_.free_space() > 0) writable_.wake_all();
}

void socket::on_duplicate_ack(const segment& seg) {
    // RFC 5681 §2: a duplicate ACK carries no data, no SYN/FIN, the same window, and
    // acknowledges SND.UNA while data is outstanding. A zero window's probe answers are not
    // counted (as Linux).
    const bool dup = seg.payload.empty() && !seg.has(flag::syn) && !seg.has(flag::fin) &&
                     snd_una_ != snd_max_ && snd_wnd_ != 0 &&
                     (std::uint32_t{seg.header.window} << snd_wscale_) == snd_wnd_;
    if (!dup) return;
    if (dupacks_ < 255) ++dupacks_;
    if (in_recovery_) {
        if (!sack_ok_) {
            cc_->on_duplicate_ack(); // RFC 5681 §3.2 step 5: inflate
            output();
        } // with SACK, process_ack runs PRR for every ACK of the recovery
        return;
    }
    // RFC 6582 §3.2 step 2 / RFC 6675 §5: enter recovery on the third duplicate ACK (or when
    // SACK says the first segment is lost), unless this loss belongs to an earlier recovery
    // (SND.UNA not beyond `recover`).
    const bool lost =
        dupacks_ >= sack_scoreboard::default_dup_thresh || (sb_ && sb_->is_lost(snd_una_));
    if (lost && (snd_una_ > recover_ || recover_ == iss_)) {
        enter_recovery();
        return;
    }
    // RFC 3042: the first two duplicate ACKs may each send one new segment (output() adds
    // dupacks * SMSS to the window for that).
    if (dupacks_ < sack_scoreboard::default_dup_thresh) output();
}

void socket::enter_recovery() {
    const time_point now = layer_->now();
    ++layer_->stats().recoveries;
    ++layer_->stats().fast_retransmits;
    in_recovery_ = true;
    recover_ = snd_max_;
    end_probe_episode(); // this recovery is the loss response: the probe's would be a second
    const std::uint32_t len =
        std::min<std::uint32_t>(send_mss(), static_cast<std::uint32_t>(snd_.size()));
    if (sack_ok_) {
        // RFC 6675 §5 step 4: ssthresh and cwnd from FlightSize, RecoveryPoint = HighData,
        // retransmit the first segment presumed lost; then NextSeg sends what RFC 6937's PRR
        // allows (RFC 6675's "while pipe allows" would send cwnd - pipe at once: a burst
        // right after the loss, where PRR spreads the reduction over the ACKs).
        ++layer_->stats().sack_recoveries;
        recover_fs_ = std::max<std::uint32_t>(flight_size(), 1); // RFC 6937: snd.nxt - snd.una
        prr_delivered_ = prr_out_ = 0;
        cc_->on_congestion_event(flight_size(), now);
        scoreboard().enter_recovery(snd_max_);
        prr_on_ack();
        if (len > 0 && !sb_->is_sacked(snd_una_)) {
            // The fast retransmission goes whatever PRR says (Linux's "at least one
            // segment" when nothing went yet), within the quota when there is one.
            const sack_scoreboard::next_segment first{{snd_una_, snd_una_ + len},
                                                      sack_scoreboard::next_segment::rule::lost};
            if (send_segment(snd_una_, len, flag::ack)) {
                sb_->on_sent(first);
                prr_sent(len);
            } else {
                rtx_refused_ = true;
            }
        }
        sack_recovery_send();
    } else {
        // RFC 5681 §3.2 steps 2-4 (RFC 6582): ssthresh, retransmit, cwnd = ssthresh + 3*SMSS.
        cc_->enter_fast_recovery(flight_size(), now);
        if (len > 0 && !send_segment(snd_una_, len, flag::ack)) rtx_refused_ = true;
    }
    if (!rtx_timer_.armed() || probe_armed_) arm_rtx();
}

void socket::prr_on_ack() {
    // RFC 6937 §3, on every ACK in recovery: prr_delivered += DeliveredData, then
    //   pipe > ssthresh:  sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
    //   else:             sndcnt = MIN(ssthresh - pipe, limit)
    // Proportional while the flight is above ssthresh; below it the reduction bound, as
    // Linux's tcp_cwnd_reduction chooses it: the slow start bound (limit =
    // MAX(prr_delivered - prr_out, DeliveredData) + MSS) when the ACK advanced SND.UNA, else
    // what this ACK delivered (packet conservation), so that SACKs alone never let the
    // window grow back while losses are still being repaired.
    prr_delivered_ += ack_delivered_;
    const std::uint64_t pipe = sb_->pipe(snd_max_);
    const std::uint64_t ssthresh = cc_->ssthresh();
    std::uint64_t sndcnt = 0;
    if (pipe > ssthresh) {
        const std::uint64_t allowed = (prr_delivered_ * ssthresh + recover_fs_ - 1) / recover_fs_;
        sndcnt = allowed > prr_out_ ? allowed - prr_out_ : 0;
    } else {
        const std::uint64_t owed = prr_delivered_ > prr_out_ ? prr_delivered_ - prr_out_ : 0;
        const std::uint64_t limit = ack_una_advanced_
                                        ? std::max<std::uint64_t>(owed, ack_delivered_) + mss_
                                        : ack_delivered_;
        sndcnt = std::min(ssthresh - pipe, limit);
    }
    prr_quota_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(sndcnt, UINT32_MAX));
}

void socket::prr_sent(std::uint32_t len) noexcept {
    prr_out_ += len;
    prr_quota_ = len < prr_quota_ ? prr_quota_ - len : 0;
}

void socket::sack_recovery_send() {
    // RFC 6675 §5 step C with RFC 6937's sndcnt for "cwnd - pipe": while this ACK's quota
    // lasts, send what NextSeg() picks. A segment may go past the quota by less than one
    // SMSS, which is Linux's whole-segment rounding (its sndcnt counts packets).
    bool sent_new = false; // new data went in this burst
    for (int guard = 0; guard < 64 && prr_quota_ > 0; ++guard) {
        const std::uint32_t unsent = snd_nxt_ < snd_.end() ? distance(snd_nxt_, snd_.end()) : 0;
        const std::uint32_t room =
            snd_una_ + snd_wnd_ > snd_nxt_ ? distance(snd_nxt_, snd_una_ + snd_wnd_) : 0;
        auto next = sb_->next_seg(snd_max_, std::min(unsent, room));
        if (!next) break;
        std::uint32_t len = std::min<std::uint32_t>(next->range.length(), send_mss());
        if (next->why == sack_scoreboard::next_segment::rule::new_data) {
            len = std::min({len, unsent, room});
            if (len == 0) break;
            // PSH as output() sets it (push_here): the next step sends new data too when
            // the quota and the window outlast this segment (no hole comes first: NextSeg's
            // rule (1) found none now, and new data opens none).
            const bool more_new =
                guard < 63 && prr_quota_ > len && std::min(unsent, room) > len;
            flag f = flag::ack;
            if (push_here(len, more_new, sent_new)) f |= flag::psh;
            const seq32 at = snd_nxt_;
            if (!send_segment(at, len, f)) break;
            sent_new = true;
            snd_nxt_ += len;
            snd_max_ = seq_max(snd_max_, snd_nxt_);
            sb_->on_sent({{at, at + len}, next->why});
        } else {
            const seq32 end = seq_min(next->range.begin + len, snd_.end());
            if (!(next->range.begin < end)) break;
            len = distance(next->range.begin, end);
            if (!send_segment(next->range.begin, len, flag::ack)) break;
            sb_->on_sent({{next->range.begin, end}, next->why});
        }
        prr_sent(len);
    }
}

} // namespace coronet::tcp
