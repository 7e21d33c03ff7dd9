// TCP_INFO from the TCB: the fields of Linux's struct tcp_info that coronet keeps, and the
// per-connection counts they need (counted where segments come and go).
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

namespace coronet::tcp {

namespace {

tcp_state linux_state(state s) noexcept {
    switch (s) {
    case state::closed:
        return tcp_state::closed;
    case state::listen:
        return tcp_state::listen;
    case state::syn_sent:
        return tcp_state::syn_sent;
    case state::syn_received:
        return tcp_state::syn_received;
    case state::established:
        return tcp_state::established;
    case state::fin_wait_1:
        return tcp_state::fin_wait_1;
    case state::fin_wait_2:
        return tcp_state::fin_wait_2;
    case state::close_wait:
        return tcp_state::close_wait;
    case state::closing:
        return tcp_state::closing;
    case state::last_ack:
        return tcp_state::last_ack;
    case state::time_wait:
        return tcp_state::time_wait;
    }
    return tcp_state::closed;
}

std::uint32_t micros(duration d) noexcept {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return us <= 0 ? 0 : us >= UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(us);
}

std::uint32_t millis(duration d) noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return ms <= 0 ? 0 : ms >= UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(ms);
}

// Bytes as segments of `mss`, rounded up (Linux counts packets where coronet counts bytes).
std::uint32_t segments(std::uint64_t bytes, std::uint32_t mss) noexcept {
    if (mss == 0) return 0;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>((bytes + mss - 1) / mss, UINT32_MAX));
}

} // namespace

tcp_ca_state socket::ca_state() const noexcept {
    if (in_loss_) return tcp_ca_state::loss;
    if (in_recovery_) return tcp_ca_state::recovery;
    if (dupacks_ > 0 || (sb_ && sb_->sacked_bytes() > 0)) return tcp_ca_state::disorder;
    return tcp_ca_state::open;
}

std::uint32_t socket::retransmitted_unacked() const noexcept {
    if (snd_una_ == snd_max_) return 0;
    const std::uint32_t first = std::min<std::uint32_t>(send_mss(), flight_size());
    // After a timeout what was outstanding is sent again from SND.UNA up to SND.NXT; in SACK
    // recovery the holes below HighRxt; in NewReno recovery (and a tail loss probe's
    // retransmission) one segment at a time.
    if (in_loss_) {
        const seq32 end = seq_min(snd_nxt_, recover_);
        if (!(snd_una_ < end)) return 0;
        return sb_ ? sb_->unsacked_in(snd_una_, end) : distance(snd_una_, end);
    }
    if (in_recovery_) return sack_ok_ && sb_ ? sb_->unsacked_in(snd_una_, sb_->high_rxt()) : first;
    return tlp_rxt_out_ ? first : 0;
}

void socket::count_input(const segment& seg) noexcept {
    ++counts_.segs_in;
    const auto len = static_cast<std::uint32_t>(seg.payload.length());
    if (len == 0) return;
    ++counts_.data_segs_in;
    // A coalesced (GRO-like) segment may be longer than the peer's MSS: not past ours.
    largest_received_ = std::max(largest_received_, std::min<std::uint32_t>(len, advertised_mss_));
}

result<tcp_info> socket::connection_info() const {
    tcp_info i;
    i.state = linux_state(state_);
    if (state_ == state::listen) { // as Linux: the accept queue and its bound
        i.unacked = static_cast<std::uint32_t>(accept_queue_.size());
        i.sacked = static_cast<std::uint32_t>(backlog_);
        return i;
    }
    i.retransmits = static_cast<std::uint8_t>(std::min(rtt_.backoffs(), 255u));
    i.ca_state = ca_state();
    // Linux's icsk_probes_out counts the probes of whichever timer runs, window or keepalive.
    i.probes = static_cast<std::uint8_t>(std::min(persist_probes_ + keep_probes_, 255));
    i.backoff = persist_timer_.armed() ? persist_backoff_ : i.retransmits;
    i.sack = sack_ok_;
    i.timestamps = ts_ok_;
    i.window_scale = ws_ok_;
    i.snd_wscale = ws_ok_ ? snd_wscale_ : 0;
    i.rcv_wscale = ws_ok_ ? rcv_wscale_ : 0;
    i.rto = micros(rtt_.rto());
    if (auto s = rtt_.srtt()) {
        i.rtt = micros(*s);
        i.rttvar = micros(rtt_.rttvar());
    }
    if (min_rtt_) i.min_rtt = micros(*min_rtt_);
    i.rcv_rtt = micros(rcv_rtt_);
    i.snd_mss = mss_;
    // Linux's tcp_initialize_rcv_mss before any data: the smaller of ours and 536.
    i.rcv_mss =
        largest_received_ != 0 ? largest_received_ : std::min<std::uint32_t>(advertised_mss_, 536);
    i.advmss = advertised_mss_;
    i.snd_cwnd = segments(cwnd(), mss_);
    i.snd_ssthresh = segments(ssthresh(), mss_);
    if (synchronized(state_) || state_ == state::syn_sent || state_ == state::syn_received) {
        i.unacked = segments(flight_size(), mss_);
        i.notsent_bytes = static_cast<std::uint32_t>(send_unsent());
        if (rcv_adv_ > rcv_nxt_) i.rcv_wnd = distance(rcv_nxt_, rcv_adv_);
        i.snd_wnd = snd_wnd_;
    }
    if (synchronized(state_) && layer_ != nullptr)
        i.last_data_recv = millis(layer_->now() - last_data_at_);
    if (sb_) {
        i.sacked = segments(sb_->sacked_bytes(), mss_);
        i.lost = segments(sb_->lost_bytes(), mss_);
    }
    i.retrans = segments(retransmitted_unacked(), mss_);
    i.reordering = sb_ ? sb_->reordering() : sack_scoreboard::default_dup_thresh;
    static_cast<tcp_counts&>(i) = counts_;
    // delivery_rate and pacing_rate stay 0: the native stack neither measures delivery rate
    // nor paces.
    i.rcv_space = static_cast<std::uint32_t>(std::min<std::size_t>(rcv_.capacity(), UINT32_MAX));
    return i;
}

} // namespace coronet::tcp
