// Segment arrival for a connection: RFC 9293 §3.10.7.3 (SYN-SENT) and §3.10.7.4 (the
// other states), with PAWS (RFC 7323 §5) and the blind-attack rules of RFC 5961.
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

namespace coronet::tcp {

namespace {
// The handshake is over: the retransmission timer leaves its back-off. RFC 6298 §5.7: "If the
// timer expires awaiting the ACK of a SYN segment and the TCP implementation is using an RTO
// less than 3 seconds, the RTO MUST be re-initialized to 3 seconds when data transmission
// begins" (when no RTT sample came, Karn's rule refusing the retransmitted SYN's).
void after_handshake(rtt_estimator& rtt) {
    if (rtt.has_sample() || rtt.backoffs() == 0) return rtt.reset_backoff();
    rtt_options o = rtt.options();
    o.initial_rto = std::max<duration>(o.initial_rto, std::chrono::seconds(3));
    rtt = rtt_estimator(o);
}
} // namespace

void socket::input(segment&& seg) {
    if (layer_ == nullptr) return;
    count_input(seg);
    last_received_ = layer_->now();
    keep_probes_ = 0;
    switch (state_) {
    case state::closed:
    case state::listen:
        return;
    case state::syn_sent:
        input_syn_sent(seg);
        return;
    default:
        break;
    }
    // First check: sequence number, after PAWS (RFC 7323 §5.3 R1-R3).
    if (!check_paws(seg)) return;
    if (state_ == state::syn_received && listener_ == nullptr && seg.has(flag::syn) &&
        seg.has(flag::ack) && !seg.has(flag::rst) && seg.seq() + 1 == rcv_nxt_ &&
        seg.ack() == snd_max_) {
        // Simultaneous open (RFC 9293 §3.5 figure 7): the peer's SYN-ACK repeats the SYN we
        // took already (SEG.SEQ = IRS), so the acceptability test refuses it, and answering
        // it with our SYN-ACK again makes two such ends trade SYN-ACKs for ever. As Linux
        // does, a SYN-ACK at IRS acknowledging our SYN completes the handshake; our ACK
        // completes the peer's.
        update_timestamp(seg);
        established_by_ack(seg);
        snd_una_ = seg.ack();
        snd_wnd_ = max_snd_wnd_ = seg.header.window; // RFC 7323 §2.2: unscaled on a SYN
        snd_wl1_ = seg.seq();
        snd_wl2_ = seg.ack();
        rtx_timer_.cancel();
        send_ack();
        return;
    }
    if (!acceptable(seg)) {
        ++layer_->stats().out_of_window;
        if (seg.has(flag::rst)) return;
        // "If an incoming segment is not acceptable, an acknowledgment should be sent in
        // reply (unless the RST bit is set)". In SYN-RECEIVED a repeated SYN gets the SYN-ACK.
        if (state_ == state::syn_received) {
            send_syn();
        } else {
            // Data we have already: our ACK was lost or late, so the next ones go at once
            // (Linux's tcp_send_dupack enters quick-ack mode).
            if (!seg.payload.empty() && seg.seq() < rcv_nxt_) add_quick_acks();
            if (state_ == state::time_wait && seg.has(flag::fin))
                arm(wait_timer_, 2 * layer_->cfg().msl); // RFC 9293 §3.10.7.4: restart 2 MSL
            send_ack();
        }
        return;
    }
    // Second check: RST (RFC 5961 §3.2): only an exact match resets; an in-window one gets
    // a challenge ACK.
    if (seg.has(flag::rst)) {
        if (seg.seq() != rcv_nxt_) {
            send_challenge_ack();
            return;
        }
        switch (state_) {
        case state::syn_received:
            // From a passive open: back to LISTEN (the child simply goes); active: refused.
            if (listener_ != nullptr) return to_closed(0);
            ++layer_->stats().attempt_fails;
            return to_closed(ECONNREFUSED);
        case state::established:
        case state::close_wait:
            ++layer_->stats().estab_resets;
            return to_closed(ECONNRESET);
        case state::fin_wait_1:
        case state::fin_wait_2:
            return to_closed(ECONNRESET);
        default: // CLOSING, LAST-ACK, TIME-WAIT
            return to_closed(0);
        }
    }
    // Fourth check: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK, drop.
    if (seg.has(flag::syn)) {
        if (state_ == state::syn_received) {
            send_syn();
            return;
        }
        send_challenge_ack();
        return;
    }
    // Fifth check: ACK.
    if (!seg.has(flag::ack)) return;
    update_timestamp(seg);
    if (state_ == state::syn_received) {
        // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the segment
        // acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
        if (!(seg.ack() > snd_una_ && seg.ack() <= snd_max_)) {
            layer_->send_reset(seg, local_, remote_);
            return;
        }
        if (listener_ != nullptr && listener_->accept_queue_.size() >=
                                        static_cast<std::size_t>(listener_->backlog_)) {
            // The accept queue is full: ignore the ACK, as Linux does; the client's data
            // or our SYN-ACK retransmission will try again.
            ++layer_->stats().listen_overflows;
            return;
        }
        established_by_ack(seg);
    }
    if (!process_ack(seg)) return;
    const bool fin_acked = fin_queued_ && snd_una_ == fin_seq() + 1;
    switch (state_) {
    case state::fin_wait_1:
        if (fin_acked) {
            set_state(state::fin_wait_2);
            if (handle_closed_) arm(wait_timer_, layer_->cfg().fin_timeout);
        }
        break;
    case state::closing:
        if (fin_acked) enter_time_wait();
        break;
    case state::last_ack:
        if (fin_acked) return to_closed(0);
        break;
    default:
        break;
    }
    // Seventh: segment text; eighth: FIN.
    const seq32 fin_at = seg.seq() + static_cast<std::uint32_t>(seg.payload.length());
    if (fin_at > rcv_nxt_ && (handle_closed_ || read_shut_) &&
        (state_ == state::fin_wait_1 || state_ == state::fin_wait_2)) {
        // RFC 1122 §4.2.2.13: "if new data is received after CLOSE is called, its TCP SHOULD
        // send a RST to show that data was lost". No one will read it: Linux resets too
        // (TCPAbortOnData), also after shutdown(SHUT_RD), <SEQ=SEG.ACK><CTL=RST>.
        ++layer_->stats().abort_on_data;
        layer_->send_reset(seg, local_, remote_);
        return to_closed(ECONNRESET);
    }
    if (!seg.payload.empty()) {
        if (receives_data(state_))
            process_data(seg);
        else
            schedule_ack(true);
    }
    if (seg.has(flag::fin) && state_ != state::closed) {
        if (fin_at == rcv_nxt_)
            process_fin();
        else if (fin_at > rcv_nxt_ && fin_at < rcv_adv_ + 1 && receives_data(state_)) {
            ooo_fin_ = fin_at; // after a hole: taken once the hole fills
            schedule_ack(true);
        }
    }
    if (state_ != state::closed) output();
}

void socket::input_syn_sent(segment& seg) {
    // RFC 9293 §3.10.7.3. First the ACK: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a
    // reset (unless the RST bit is set), discard the segment".
    if (seg.has(flag::ack) && (seg.ack() <= iss_ || seg.ack() > snd_max_)) {
        if (!seg.has(flag::rst)) layer_->send_reset(seg, local_, remote_);
        return;
    }
    if (seg.has(flag::rst)) {
        // RFC 5961 §3.2: in SYN-SENT a RST is believed when it acknowledges the SYN.
        if (seg.has(flag::ack)) {
            ++layer_->stats().attempt_fails;
            to_closed(ECONNREFUSED);
        }
        return;
    }
    if (!seg.has(flag::syn)) return;
    init_receive(seg.seq());
    negotiate(seg.header.options, true);
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    snd_wnd_ = max_snd_wnd_ = seg.header.window;
    snd_wl1_ = seg.seq();
    snd_wl2_ = seg.ack();
    if (seg.has(flag::ack)) {
        snd_una_ = seg.ack();
        if (auto r = sampler_.on_ack(seg.ack(), layer_->now())) {
            rtt_.sample(*r);
            min_rtt_ = *r;
        }
        rtx_timer_.cancel();
        after_handshake(rtt_);
        set_state(state::established);
        last_received_ = layer_->now();
        if (keep_alive_) arm_keepalive();
        send_ack();
        writable_.wake_all();
        return;
    }
    // Simultaneous open (RFC 9293 §3.5, figure 7): SYN-RECEIVED, SYN-ACK.
    set_state(state::syn_received);
    send_syn();
    arm_rtx();
}

void socket::established_by_ack(const segment& seg) {
    (void)seg;
    set_state(state::established);
    rtx_timer_.cancel(); // the SYN-ACK's: left armed, it fired on the first data too early
    after_handshake(rtt_);
    snd_wl1_ = seg.seq() - 1; // the window of this ACK is taken below
    if (listener_ != nullptr) {
        socket* l = listener_;
        child_hook_.unlink();
        --l->syn_queue_;
        listener_ = nullptr;
        l->accept_queue_.push_back(ref<socket>(this));
        l->readable_.wake_one();
    }
    if (keep_alive_) arm_keepalive();
    writable_.wake_all();
}

bool socket::check_paws(const segment& seg) {
    // RFC 7323 §5.3: "If ... SEG.TSval < TS.Recent and if TS.Recent is valid, then treat
    // the arriving segment as not acceptable: send an acknowledgment in reply as specified
    // in RFC 793 page 69 and drop the segment" (a RST is not answered).
    if (!ts_ok_ || !seg.header.options.timestamps || seg.has(flag::rst)) return true;
    if (!(ts32(seg.header.options.timestamps->value) < ts32(ts_recent_))) return true;
    ++layer_->stats().paws_rejected;
    send_ack();
    return false;
}

void socket::update_timestamp(const segment& seg) noexcept {
    // RFC 7323 §4.3: "If SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent then
    // SEG.TSval is copied to TS.Recent".
    if (!ts_ok_ || !seg.header.options.timestamps) return;
    const auto& t = *seg.header.options.timestamps;
    if (ts32(t.value) >= ts32(ts_recent_) && seg.seq() <= last_ack_sent_) ts_recent_ = t.value;
    if (t.echo_reply != 0 && !echo_valid(t.echo_reply)) {
        ++layer_->stats().ts_echo_invalid; // on_new_ack takes no RTT sample from it either
        return;
    }
    if (t.echo_reply != 0 && !seg.payload.empty()) {
        const auto r = timestamp_rtt(ts_now(), ts32(t.echo_reply), std::chrono::milliseconds(1), true);
        if (r && (rcv_rtt_ == duration::zero() || *r < rcv_rtt_)) rcv_rtt_ = *r;
    }
}

bool socket::echo_valid(std::uint32_t echo_reply) const noexcept {
    // RFC 7323 §4.3: TSecr echoes a TSval we sent. One from the future or from before the
    // connection began is made up: taken as an RTT sample (RFC 7323 §4.1), an old one would
    // measure up to 2^31 ms and pin the RTO at its maximum.
    const ts32 e(echo_reply);
    return !(ts_now() < e) && !(e < ts32(ts_first_));
}

bool socket::acceptable(const segment& seg) const noexcept {
    // RFC 9293 §3.10.7.4, the four cases of the acceptability test.
    const std::uint32_t wnd = rcv_adv_ > rcv_nxt_ ? distance(rcv_nxt_, rcv_adv_) : 0;
    const std::uint32_t len = seg.length();
    // A zero-length segment may sit at the right edge itself, as Linux's tcp_sequence()
    // allows: a peer that sent our whole window numbers its pure ACKs there, and refusing
    // them would drop every ACK it sends until the window's data arrives.
    if (len == 0)
        return wnd == 0 ? seg.seq() == rcv_nxt_
                        : in_window(seg.seq(), rcv_nxt_, wnd) || seg.seq() == rcv_adv_;
    // A zero window accepts no data, but the ACK and RST of a segment at RCV.NXT are still
    // processed ("special allowance should be made to accept valid ACKs, URGs, and RSTs").
    if (wnd == 0) return seg.seq() == rcv_nxt_;
    return in_window(seg.seq(), rcv_nxt_, wnd) || in_window(seg.seq() + (len - 1), rcv_nxt_, wnd);
}

void socket::process_data(segment& seg) {
    packet& p = seg.payload;
    seq32 s = seg.seq();
    // Trim what was received already, then what lies beyond the window we advertised.
    if (s < rcv_nxt_) {
        const std::uint32_t dup = distance(s, rcv_nxt_);
        if (dup >= p.length()) return schedule_ack(true);
        (void)p.pull_header(dup);
        s = rcv_nxt_;
    }
    const std::uint32_t room = rcv_adv_ > s ? distance(s, rcv_adv_) : 0;
    if (p.length() > room) p.trim(room);
    if (p.empty()) return schedule_ack(true);
    const auto n = static_cast<std::uint32_t>(p.length());
    if (s == rcv_nxt_) {
        // The received slices themselves: no copy. Dropped, the bytes are not acknowledged.
        if (!queue_in_order(p)) return schedule_ack(true);
        rcv_nxt_ += n;
        counts_.bytes_received += n;
        auto_tune(n);
        note_data_arrival();
        if (!ooo_.empty()) {
            deliver_in_order();
            schedule_ack(true); // RFC 5681 §4.2: ACK at once when a hole is filled
        } else {
            unacked_bytes_ += n;
            schedule_ack(false);
        }
        readable_.wake_all();
        return;
    }
    // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK with
    // SACK blocks for the sender's recovery).
    switch (ooo_.offer(s, std::move(p), rcv_nxt_)) {
    case reassembly_queue::offer_result::queued:
        ++layer_->stats().ofo_queued;
        break;
    case reassembly_queue::offer_result::duplicate:
        break;
    case reassembly_queue::offer_result::no_memory:
        ++layer_->stats().ofo_dropped_memory;
        ++layer_->stats().ofo_dropped;
        break;
    default:
        ++layer_->stats().ofo_dropped;
        break;
    }
    schedule_ack(true);
}

bool socket::queue_in_order(packet& p) {
    if (rcv_.try_append(p)) return true;
    auto& stats = layer_->stats();
    if (rcv_.collapse(layer_->net().pool(), stats.rcv_collapsed_bytes) > 0) {
        ++stats.rcv_collapsed;
        if (rcv_.try_append(p)) return true;
    }
    if (!ooo_.empty()) {
        // RFC 2018 §8: the receiver may discard data it has SACKed; the sender keeps it until
        // cumulatively acknowledged and retransmits it.
        ooo_.clear();
        ++stats.ofo_reneged;
        if (rcv_.try_append(p)) return true;
    }
    ++stats.rcv_dropped_memory;
    return false;
}

void socket::deliver_in_order() {
    while (auto p = ooo_.pop(rcv_nxt_)) {
        const auto n = static_cast<std::uint32_t>(p->length());
        rcv_.append(std::move(*p));
        rcv_nxt_ += n;
        counts_.bytes_received += n;
        auto_tune(n);
    }
    if (ooo_fin_ && *ooo_fin_ == rcv_nxt_) process_fin();
}

void socket::process_fin() {
    // RFC 9293 §3.10.7.4, eighth check: "advance RCV.NXT over the FIN" and signal the user.
    rcv_nxt_ += 1;
    fin_received_ = true;
    ooo_fin_.reset();
    readable_.wake_all();
    schedule_ack(true);
    switch (state_) {
    case state::syn_received:
    case state::established:
        set_state(state::close_wait);
        break;
    case state::fin_wait_1:
        set_state(state::closing); // our FIN is not acknowledged yet, or we'd be in FIN-WAIT-2
        break;
    case state::fin_wait_2:
        send_ack();
        enter_time_wait();
        break;
    case state::time_wait:
        arm(wait_timer_, 2 * layer_->cfg().msl);
        break;
    default:
        break;
    }
}

void socket::enter_time_wait() {
    set_state(state::time_wait);
    rtx_timer_.cancel();
    persist_timer_.cancel();
    keepalive_timer_.cancel();
    delack_timer_.cancel();
    if (ack_pending_) send_ack();
    arm(wait_timer_, 2 * layer_->cfg().msl); // RFC 9293 §3.10.7.4: 2 MSL
}

} // namespace coronet::tcp
