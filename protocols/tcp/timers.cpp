// The connection's timers, each a timer_entry in the socket: retransmission (RFC 6298),
// delayed ACK (RFC 9293 §3.8.6.3), persist (§3.8.6.1), keepalive (§3.8.4), TIME-WAIT and the
// orphaned FIN-WAIT-2 limit; plus receive-buffer auto-tuning, which runs on data arrival.
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>

namespace coronet::tcp {


ts32 socket::ts_now() const noexcept {
    // RFC 7323 §5.4: a millisecond clock with a per-connection random offset.
    const auto ms = layer_->now().since_epoch / std::chrono::milliseconds(1);
    return ts32(static_cast<std::uint32_t>(ms) + ts_offset_);
}

void socket::arm(timer& t, duration d) { layer_->sched().timers().add(t, layer_->now() + d); }

void socket::arm_rtx() {
    probe_armed_ = false;
    duration d = rtt_.rto();
    // TCP_USER_TIMEOUT fails the connection at its time, not at the first expiry after it
    // (Linux's tcp_clamp_rto_to_user_timeout).
    if (user_timeout_ > duration::zero() && synchronized(state_) && snd_una_ != snd_max_) {
        const time_point deadline = una_since_ + user_timeout_;
        const time_point now = layer_->now();
        d = std::min(d, deadline > now ? deadline - now : duration::zero());
    }
    arm(rtx_timer_, d);
}

void socket::arm_keepalive() { arm(keepalive_timer_, keep_idle_); }

void socket::on_rtx(timer_entry* t) {
    ref<socket> keep(static_cast<timer*>(t)->owner);
    // One timer, two uses, as Linux's ICSK_TIME_LOSS_PROBE: the probe's PTO or the RTO.
    if (keep->probe_armed_)
        keep->probe_timer_expired();
    else
        keep->rtx_timeout();
}
void socket::on_delack(timer_entry* t) {
    ref<socket> keep(static_cast<timer*>(t)->owner);
    if (keep->layer_ == nullptr) return;
    ++keep->layer_->stats().delayed_acks;
    keep->send_ack();
}
void socket::on_persist(timer_entry* t) {
    ref<socket> keep(static_cast<timer*>(t)->owner);
    keep->persist_timeout();
}
void socket::on_keepalive(timer_entry* t) {
    ref<socket> keep(static_cast<timer*>(t)->owner);
    keep->keepalive_timeout();
}
void socket::on_reorder(timer_entry* t) {
    ref<socket> keep(static_cast<timer*>(t)->owner);
    keep->reorder_timeout();
}
void socket::on_wait(timer_entry* t) {
    ref<socket> keep(static_cast<timer*>(t)->owner);
    // TIME-WAIT's 2 MSL are over, or an orphaned FIN-WAIT-2 waited long enough.
    if (keep->state_ == state::time_wait || keep->state_ == state::fin_wait_2) keep->to_closed(0);
}

void socket::rtx_timeout() {
    if (layer_ == nullptr) return;
    const config& c = layer_->cfg();
    const time_point now = layer_->now();
    ++layer_->stats().timeouts;
    if (state_ == state::syn_sent || state_ == state::syn_received) {
        const unsigned limit = state_ == state::syn_sent ? c.syn_retries : c.synack_retries;
        if (rtt_.backoffs() >= limit) {
            if (listener_ != nullptr) {
                ++layer_->stats().half_open_reclaimed; // a half-open child is reclaimed
                return to_closed(0);
            }
            ++layer_->stats().attempt_fails;
            return to_closed(soft_error_ != 0 ? soft_error_ : ETIMEDOUT);
        }
        rtt_.backoff(); // RFC 6298 §5.5
        send_syn();
        arm_rtx();
        return;
    }
    if (snd_una_ == snd_max_) return;
    // TCP_USER_TIMEOUT (RFC 9293 §3.8.3 "USER TIMEOUT"), else R2 retransmissions.
    const bool user_expired = user_timeout_ > duration::zero() && now - una_since_ >= user_timeout_;
    if (user_expired || rtt_.backoffs() >= c.retries) {
        if (state_ == state::established || state_ == state::close_wait) ++layer_->stats().estab_resets;
        return to_closed(soft_error_ != 0 ? soft_error_ : ETIMEDOUT);
    }
    // RFC 5681 §3.1 eq. 4 on the first timeout of a series; RFC 6298 §5.5-5.6: back off and
    // retransmit the earliest segment; RFC 6582 §3.2 step 4 / RFC 6675 §5.1: recovery ends
    // and `recover` moves to the highest sequence number sent.
    if (rtt_.backoffs() == 0) cc_->on_rto_timeout(flight_size(), now);
    rtt_.backoff();
    sampler_.cancel();
    in_recovery_ = false;
    in_loss_ = true;
    dupacks_ = 0;
    recover_ = snd_max_;
    end_probe_episode(); // the timeout's loss response covers the probe's too
    if (sb_) sb_->clear(); // RFC 2018 §8: the receiver may have reneged
    // Everything goes again: RACK waits until the timeout's losses are ACKed (in_loss_).
    if (rack_) rack_->on_timeout();
    reorder_timer_.cancel();
    snd_nxt_ = snd_una_;
    output();
    arm_rtx();
}

void socket::persist_timeout() {
    if (layer_ == nullptr || !synchronized(state_)) return;
    if (snd_una_ >= snd_.end()) return output();
    if (snd_wnd_ != 0) {
        if (snd_una_ != snd_max_) return output(); // data in flight: the RTO watches it
        // RFC 9293 §3.8.6.2.1: the override timeout of sender SWS avoidance: send what the
        // window permits now, however small; the retransmission timer watches it from here.
        const std::uint32_t unsent = distance(snd_nxt_, snd_.end());
        const std::uint32_t len = std::min({snd_wnd_, send_mss(), unsent});
        if (send_segment(snd_nxt_, len, len == unsent ? flag::ack | flag::psh : flag::ack)) {
            snd_nxt_ += len;
            snd_max_ = seq_max(snd_max_, snd_nxt_);
        }
        persist_backoff_ = 0;
        return arm_rtx();
    }
    // RFC 1122 §4.2.2.17: probing goes on for as long as the peer answers. A peer that
    // closed its window and went silent would otherwise hold this connection and its send
    // buffer for ever, so, as Linux's tcp_probe_timer: after `retries` probes in a row that no
    // ACK answered, after `orphan_retries` once no handle refers to the connection, or at the
    // user timeout, the connection ends with ETIMEDOUT.
    const config& c = layer_->cfg();
    const time_point now = layer_->now();
    if (persist_probes_ == 0) persist_since_ = now;
    const bool user_expired =
        user_timeout_ > duration::zero() && persist_probes_ > 0 && now - persist_since_ >= user_timeout_;
    if (user_expired || persist_probes_ >= (handle_closed_ ? c.orphan_retries : c.retries)) {
        ++layer_->stats().persist_timeouts;
        if (state_ == state::established || state_ == state::close_wait) ++layer_->stats().estab_resets;
        return to_closed(ETIMEDOUT);
    }
    ++persist_probes_;
    // RFC 9293 §3.8.6.1: send one byte beyond the zero window; the timer backs off like the
    // retransmission timer (RFC 1122 §4.2.2.17), at most max_rto.
    ++layer_->stats().window_probes;
    snd_nxt_ = snd_una_;
    if (send_segment(snd_nxt_, 1, flag::ack)) {
        snd_nxt_ += 1;
        snd_max_ = seq_max(snd_max_, snd_nxt_);
    }
    // The first probe went after one RTO; the next after 2 RTO, then 4... (Linux's
    // rto << backoff).
    if (persist_backoff_ < 16) ++persist_backoff_;
    duration d = rtt_.rto();
    for (unsigned i = 0; i < persist_backoff_ && d < layer_->cfg().rtt.max_rto; ++i) d *= 2;
    arm(persist_timer_, std::min(d, layer_->cfg().rtt.max_rto));
}

void socket::keepalive_timeout() {
    if (layer_ == nullptr || !keep_alive_ || !synchronized(state_) || state_ == state::time_wait)
        return;
    const time_point now = layer_->now();
    const duration idle = now - last_received_;
    if (keep_probes_ == 0 && idle < keep_idle_) return arm(keepalive_timer_, keep_idle_ - idle);
    // Data in flight or waiting: the retransmission (or persist) timer watches the peer,
    // so no probe now, as Linux's tcp_keepalive_timer; look again an interval later.
    if (snd_una_ != snd_max_ || snd_nxt_ < snd_.end()) return arm(keepalive_timer_, keep_interval_);
    if (keep_probes_ >= keep_count_) return abort(ETIMEDOUT);
    // RFC 9293 §3.8.4 / RFC 1122 §4.2.3.6: a segment with SEG.SEQ = SND.NXT - 1 and no data,
    // which the peer must acknowledge.
    ++layer_->stats().keepalive_probes;
    ++keep_probes_;
    send_segment(snd_una_ - 1, 0, flag::ack);
    arm(keepalive_timer_, keep_interval_);
}

socket_timer socket::pending_timer(time_point now) const noexcept {
    // Linux's precedence (get_tcp4_sock): the retransmission timer, which is also the loss
    // probe's, then the zero-window probe, then the socket timer (keepalive); TIME-WAIT and
    // the orphaned FIN-WAIT-2 limit, Linux's timewait sockets, have a timer of their own.
    const auto of = [now](timer_kind kind, const timer& t, unsigned retries) {
        return socket_timer{kind, std::max(duration::zero(), t.expiry() - now), retries};
    };
    if (rtx_timer_.armed()) return of(timer_kind::on, rtx_timer_, rtt_.backoffs());
    if (persist_timer_.armed()) return of(timer_kind::persist, persist_timer_, persist_probes_);
    if (keepalive_timer_.armed()) return of(timer_kind::keepalive, keepalive_timer_, keep_probes_);
    if (wait_timer_.armed()) return of(timer_kind::timewait, wait_timer_, 0);
    return {};
}

void socket::auto_tune(std::size_t delivered) {
    // Receive-buffer auto-tuning (Linux's dynamic right-sizing): over each round trip,
    // count the bytes that arrived; when they fill more than half the buffer, the sender is
    // window-limited, so the buffer grows to twice that BDP estimate, up to the maximum.
    const config& c = layer_->cfg();
    if (!c.auto_tune || rcv_locked_) return;
    const time_point now = layer_->now();
    tune_bytes_ += delivered;
    duration rtt = rcv_rtt_ != duration::zero() ? rcv_rtt_ : rtt_.srtt().value_or(duration::zero());
    if (rtt == duration::zero()) rtt = std::chrono::milliseconds(10);
    if (now - tune_start_ < rtt) return;
    if (2 * tune_bytes_ > rcv_.capacity() && rcv_.capacity() < c.max_receive_buffer) {
        rcv_.set_capacity(std::min(c.max_receive_buffer, std::max(rcv_.capacity(), 4 * tune_bytes_)));
        ooo_.set_max_bytes(std::max(ooo_.max_bytes(), rcv_.capacity()));
    }
    tune_start_ = now;
    tune_bytes_ = 0;
}

} // namespace coronet::tcp
