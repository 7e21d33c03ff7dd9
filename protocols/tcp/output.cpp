// What to send and how a segment is built. A segment's payload is bounded by the smallest of
// the peer's window, the congestion window and the MSS (or a TSO-sized segment when the NIC
// cuts segments itself); Nagle (RFC 9293 §3.7.4) and sender-side silly-window avoidance
// (§3.8.6.2.1) hold small segments back; the window we advertise follows receiver-side SWS
// avoidance (§3.8.6.2.2) and never moves its right edge back.
//
// A segment that cannot leave (a full transmit queue, no packet buffer) is back-pressure,
// not loss: nothing advances, the socket waits in the layer's list and resume_output()
// sends it when there is room (socket.hpp).
#include "protocols/checksum/checksum.hpp"
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>

namespace coronet::tcp {

namespace {
// The largest TSO segment: what one IPv4 datagram holds after the headers.
constexpr std::uint32_t max_tso_payload = 65535 - 20 - 60;
} // namespace

std::uint32_t socket::send_mss() const noexcept {
    // RFC 9293 §3.7.1: the data of a segment is the MSS less the options beyond the fixed
    // ones (mss_ already lost the timestamps' 12 bytes). SACK blocks come and go with the
    // holes in what we received: 8 bytes each plus 2 of kind and length, padded to 4 with
    // NOPs, as Linux's tcp_current_mss() counts them. Without this a data segment that
    // carries SACK blocks is larger than the MTU and leaves in IP fragments.
    if (!sack_ok_ || ooo_.empty()) return mss_;
    const auto n = static_cast<std::uint32_t>(
        std::min<std::size_t>(ooo_.block_count(), ts_ok_ ? 3 : reassembly_queue::max_reported));
    return mss_ - (4 + 8 * n);
}

std::uint32_t socket::max_payload() const noexcept {
    const std::uint32_t m = send_mss();
    if (!segmentation_offload_) return m;
    return std::max<std::uint32_t>(m, max_tso_payload / m * m);
}

bool socket::fin_to_send() const noexcept { return fin_queued_ && snd_nxt_ == fin_seq(); }

bool socket::corked() const noexcept {
    // A FIN to send uncorks: close() and shutdown() push what is held (as Linux's tcp_send_fin).
    return (cork_ || hold_more_) && !push_now_ && !fin_queued_;
}

bool socket::partial_allowed(std::uint32_t len, std::uint32_t unsent,
                             std::uint32_t flight) const noexcept {
    // TCP_CORK and MSG_MORE hold a partial segment until uncorked or until the persist timer's
    // override (at most an RTO: Linux's "200 ms ceiling" is its probe timer's RTO).
    if (corked()) return false;
    if (push_now_) return true;
    // Nagle: a short segment waits while data is unacknowledged, unless TCP_NODELAY; sender
    // SWS: unless it is half the largest window the peer offered.
    const bool last = len == unsent;
    const bool nagle_ok = no_delay_ || flight == 0;
    const bool sws_ok = max_snd_wnd_ > 0 && len >= max_snd_wnd_ / 2;
    return (last && nagle_ok) || sws_ok;
}

std::optional<socket::send_step> socket::next_send(seq32 nxt) const noexcept {
    const std::uint32_t unsent = nxt < snd_.end() ? distance(nxt, snd_.end()) : 0;
    const std::uint32_t flight = distance(snd_una_, nxt);
    // RFC 3042: on the first two duplicate ACKs the window is cwnd + dupacks * SMSS.
    std::uint32_t cwnd = cc_->cwnd();
    if (!in_recovery_ && dupacks_ > 0 && dupacks_ < sack_scoreboard::default_dup_thresh)
        cwnd += dupacks_ * mss_;
    const std::uint32_t window = std::min(snd_wnd_, cwnd);
    const std::uint32_t usable = window > flight ? window - flight : 0;
    std::uint32_t len = std::min({unsent, usable, max_payload()});
    // In SACK recovery data leaves only as PRR allows (ack.cpp), a FIN after it.
    if (in_recovery_ && sack_ok_ && sb_) len = 0;
    // Corked, a TSO segment that would take the whole tail leaves its partial last MSS
    // behind (Linux's tcp_mss_split_point).
    if (corked() && len == unsent && len > send_mss()) len -= len % send_mss();
    const bool fin = fin_queued_ && len == unsent && nxt + len == fin_seq() &&
                     (len > 0 || usable > 0 || snd_wnd_ == 0 || flight == 0);
    if (len == 0 && !fin) return std::nullopt;
    if (len > 0 && len < send_mss() && !fin && !partial_allowed(len, unsent, flight))
        return std::nullopt;
    return send_step{len, fin};
}

bool socket::push_here(std::uint32_t len, bool more_follows, bool after_others) const noexcept {
    // RFC 9293 §3.9.1 leaves PSH to the sender, with one duty: the segment that empties the
    // send buffer carries it. A MSG_MORE write or TCP_CORK says more follows: no PSH then.
    if (tail_more_) return false;
    if (len == distance(snd_nxt_, snd_.end())) return true;
    if (corked()) return false;
    // Also the last segment of a burst of new data two or more segments long (a TSO segment
    // is one): Linux sets PSH on every GSO packet (__tcp_transmit_skb) so that the
    // receiver's GRO or LRO hands the burst up at once instead of holding it for more; a
    // lone segment sent into a small window (limited transmit, an ACK's worth of cwnd) does
    // not get it, so that its ACK, which releases the next, is not hurried. Data sent again
    // after a timeout does not either: Linux resends it segment by segment.
    if (snd_nxt_ < snd_max_) return false;
    return len > send_mss() || (after_others && !more_follows);
}

void socket::output(bool more, bool push) {
    hold_more_ = more;
    push_now_ = push;
    output();
    hold_more_ = push_now_ = false;
}

void socket::output() {
    if (layer_ == nullptr) return;
    if (!synchronized(state_) || state_ == state::time_wait) {
        if (ack_pending_ && state_ == state::time_wait) send_ack();
        return;
    }
    bool refused = false;
    const seq32 max_before = snd_max_;
    const seq32 nxt_before = snd_nxt_;
    for (;;) {
        const auto next = next_send(snd_nxt_);
        if (!next) break;
        const auto [len, fin] = *next;
        flag f = flag::ack;
        if (len > 0 && push_here(len, next_send(snd_nxt_ + len).has_value(),
                                 snd_nxt_ != nxt_before))
            f |= flag::psh;
        if (fin) f |= flag::fin;
        if (!send_segment(snd_nxt_, len, f)) {
            refused = true;
            break;
        }
        snd_nxt_ += len + (fin ? 1 : 0);
        snd_max_ = seq_max(snd_max_, snd_nxt_);
        if (fin) break;
    }
    if (snd_una_ != snd_max_ && !persist_timer_.armed()) {
        if (snd_max_ > max_before)
            arm_rtx_or_probe(false); // RFC 8985 §7.2: new data (re)starts the PTO
        else if (!rtx_timer_.armed())
            arm_rtx();
    }
    // Data waits with nothing in flight: behind a zero window (RFC 9293 §3.8.6.1: probe) or a
    // window too small to send into without silly window syndrome (§3.8.6.2.1: the override
    // timeout). Either way only the persist timer can move it; without it a peer that offers
    // one byte of window and goes silent holds the connection for ever (Linux arms its probe
    // timer the same way, tcp_check_probe_timer).
    if (!refused && snd_una_ == snd_max_ && snd_nxt_ < snd_.end() && !persist_timer_.armed()) {
        rtx_timer_.cancel();
        arm(persist_timer_, rtt_.rto());
    }
    if (ack_pending_ && !refused) send_ack(); // refused, it goes with the resumed output
    // TCP_NOTSENT_LOWAT: sending is what brings the unsent bytes below the mark.
    if (low_water_ != 0 && snd_nxt_ != nxt_before && below_low_water()) writable_.wake_all();
}

void socket::resume_output() {
    if (write_wants_buffer_) writable_.wake_all();
    if (layer_ == nullptr || !synchronized(state_)) return; // a SYN is left to its timer
    if (rtx_refused_ && snd_una_ < snd_max_) {
        rtx_refused_ = false;
        const std::uint32_t len =
            std::min<std::uint32_t>(send_mss(), static_cast<std::uint32_t>(snd_.size()));
        if (len > 0 && send_segment(snd_una_, len, flag::ack) && sack_ok_ && in_recovery_) {
            scoreboard().on_sent(
                {{snd_una_, snd_una_ + len}, sack_scoreboard::next_segment::rule::lost});
            prr_sent(len);
        }
    }
    if (in_recovery_ && sack_ok_ && sb_) sack_recovery_send();
    output();
}

void socket::tx_refused(bool no_buffer) {
    ++(no_buffer ? layer_->stats().tx_blocked_no_buffer : layer_->stats().tx_blocked);
    layer_->tx_wait(*this, no_buffer);
}

bool socket::send_segment(seq32 seq, std::uint32_t len, flag flags) {
    // The headers always go into a buffer of the stack's pool, in front of the data: a
    // segment that shares send_zc data would otherwise take its header buffer from the
    // pool the data came from (a user's, whose buffers may be large and few).
    auto h = packet::allocate(layer_->net().pool());
    if (!h) {
        ++layer_->stats().no_buffers;
        tx_refused(true);
        return false;
    }
    packet p = std::move(*h);
    if (len > 0) {
        auto s = snd_.segment(seq, len, &layer_->net().pool(), &layer_->stats().send_zc_copied);
        if (!s) {
            ++layer_->stats().no_buffers;
            // Freed before waiting: freeing it later would wake the wait at once, a spin.
            p.reset();
            tx_refused(true);
            return false;
        }
        p.append(std::move(*s));
    }
    repr r;
    r.sequence = seq.raw();
    r.flags = flags;
    if (ts_ok_) r.options.timestamps = timestamps{ts_now().raw(), ts_recent_};
    if (sack_ok_ && !ooo_.empty() && !has(flags, flag::rst)) {
        // RFC 2018 §4: the most recent blocks first; three fit beside timestamps.
        std::array<seq_range, reassembly_queue::max_reported> blocks;
        const std::size_t n = ooo_.sack_blocks(blocks, ts_ok_ ? 3 : 4);
        for (std::size_t i = 0; i < n; ++i)
            r.options.sack_blocks[i] = sack_block{blocks[i].begin.raw(), blocks[i].end.raw()};
        r.options.sack_count = static_cast<std::uint8_t>(n);
    }
    if (!transmit(r, std::move(p))) return false;
    // Counted once it left: a refused segment is sent again later, not retransmitted.
    const time_point now = layer_->now();
    if (len > 0 || has(flags, flag::fin)) {
        last_sent_at_ = now;
        const seq32 end = seq + len + (has(flags, flag::fin) ? 1 : 0);
        rack_sent(seq, end);
        if (seq < snd_max_) {
            ++layer_->stats().retrans_segs;
            ++counts_.total_retrans;
            sampler_.on_retransmit(seq, end);
        } else {
            if (snd_una_ == snd_max_) una_since_ = now;
            if (!ts_ok_) sampler_.on_send(seq, end, now);
            if (r.options.timestamps) high_tx_ts_ = r.options.timestamps->value;
        }
    }
    return true;
}

bool socket::transmit(repr& r, packet&& p) {
    r.source_port = local_.port;
    r.destination_port = remote_.port;
    if (has(r.flags, flag::ack)) {
        r.acknowledgment = rcv_nxt_.raw();
        r.window = window_field(has(r.flags, flag::syn));
    }
    r.payload_length = static_cast<std::uint16_t>(p.length());
    const checksum::ipv4_addresses ip{local_.address, remote_.address};
    std::uint16_t payload_sum = 0;
    if (!checksum_offload_) {
        checksum::partial sum;
        for (auto s : p.slices()) sum.add(s);
        payload_sum = sum.sum();
    }
    const auto header_length = static_cast<std::uint32_t>(r.header_length());
    auto h = p.push_header(header_length);
    if (!h) {
        ++layer_->stats().no_buffers;
        p.reset(); // before waiting, as in send_segment
        tx_refused(true);
        return false;
    }
    emit_header(r, *h, ip, payload_sum);
    if (checksum_offload_) {
        // The NIC completes the sum from csum_start; the field holds the pseudo-header sum.
        store_be16(h->subspan(field::checksum),
                   checksum::pseudo_header_sum(ip, ip_protocol,
                                               static_cast<std::uint16_t>(p.length())));
        auto& o = p.meta().offload;
        o.flags |= packet_offload::needs_csum;
        o.csum_start = 0;
        o.csum_offset = static_cast<std::uint16_t>(field::checksum);
        const std::uint32_t m = send_mss();
        if (segmentation_offload_ && r.payload_length > m) {
            o.gso_type = packet_offload::gso_tcpv4;
            o.gso_size = static_cast<std::uint16_t>(m);
            o.hdr_len = static_cast<std::uint16_t>(header_length);
        }
    }
    if (layer_->tracing()) layer_->trace("tx", r, local_.address, remote_.address, name(state_));
    auto sent = layer_->net().send_segment(std::move(p), local_.address, remote_.address);
    if (!sent) {
        if (sent.error() == ENOBUFS || sent.error() == ENOMEM) {
            tx_refused(sent.error() == ENOMEM);
            // A refused pure ACK still has to go: with the resumed output.
            if (r.flags == flag::ack && r.payload_length == 0) ack_pending_ = true;
        }
        return false;
    }
    if (has(r.flags, flag::ack)) {
        // An ACK that was due (pure or with data) uses up one of quick-ack mode's.
        if (quick_acks_ > 0 && (ack_pending_ || delack_timer_.armed())) --quick_acks_;
        last_ack_sent_ = rcv_nxt_;
        ack_pending_ = false;
        unacked_bytes_ = 0;
        delack_timer_.cancel();
    }
    ++layer_->stats().out_segs;
    // A segment cut by the NIC (TSO) counts as the segments it becomes, as Linux's gso_segs.
    std::uint32_t segs = 1;
    if (segmentation_offload_ && r.payload_length > 0) {
        const std::uint32_t m = std::max<std::uint32_t>(send_mss(), 1);
        segs = (r.payload_length + m - 1) / m;
    }
    counts_.segs_out += segs;
    if (r.payload_length > 0) counts_.data_segs_out += segs;
    return true;
}

std::uint16_t socket::window_field(bool syn) {
    // The window the field can carry: 65535 << scale (unscaled before the handshake ends
    // and without the option); the edge we accept is the one we say, never more.
    const std::size_t unit_max = std::size_t{65535} << (syn ? 0 : rcv_wscale_);
    const std::size_t window = receive_window();
    const std::size_t avail = std::min(window, unit_max);
    const seq32 edge = rcv_nxt_ + static_cast<std::uint32_t>(std::min<std::size_t>(avail, 1u << 30));
    // RFC 9293 §3.8.6.2.2: "keep RCV.NXT+RCV.WND fixed until the reduction satisfies
    // RCV.BUFF - RCV.USER - RCV.WND >= min(Fr * RCV.BUFF, Eff.snd.MSS)", Fr = 1/2.
    if (edge > rcv_adv_) {
        const std::size_t wnd_now = rcv_adv_ > rcv_nxt_ ? distance(rcv_nxt_, rcv_adv_) : 0;
        const std::size_t reduction = window > wnd_now ? window - wnd_now : 0;
        if (reduction >= std::min<std::size_t>(rcv_.capacity() / 2, mss_) || rcv_adv_ <= rcv_nxt_ ||
            avail == rcv_.capacity())
            rcv_adv_ = edge;
    }
    const std::uint32_t wnd = rcv_adv_ > rcv_nxt_ ? distance(rcv_nxt_, rcv_adv_) : 0;
    if (syn) {
        // RFC 7323 §2.2: "The window field in a segment where the SYN bit is set ... MUST
        // NOT be scaled".
        const std::uint32_t w = std::min<std::uint32_t>(wnd, 65535);
        rcv_adv_ = rcv_nxt_ + w;
        return static_cast<std::uint16_t>(w);
    }
    // Rounded up so that the edge the peer computes is never left of ours.
    const std::uint32_t unit = std::uint32_t{1} << rcv_wscale_;
    const std::uint32_t field = std::min<std::uint32_t>((wnd + unit - 1) >> rcv_wscale_, 65535);
    rcv_adv_ = seq_max(rcv_adv_, rcv_nxt_ + (field << rcv_wscale_));
    return static_cast<std::uint16_t>(field);
}

std::size_t socket::receive_window() const noexcept {
    // Linux clamps the window under memory pressure (tcp_clamp_window, tcp_adjust_rcv_ssthresh)
    // so that the peer does not send what would be dropped; the edge already advertised stays
    // (window_field never moves it left, RFC 9293 §3.8.6.2.2).
    const std::uint32_t room = rcv_.memory_room();
    if (room == memory_budget::no_limit) return rcv_.window();
    return std::min<std::size_t>(rcv_.window(), std::size_t{room} * mss_);
}

void socket::schedule_ack(bool immediate) {
    // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: an ACK for at least every second full-sized segment,
    // and none delayed longer than the configured delay; in quick-ack mode, every segment.
    if (immediate || unacked_bytes_ >= 2u * mss_ || quick_acks_ > 0) {
        ack_pending_ = true;
        return;
    }
    if (!delack_timer_.armed()) arm(delack_timer_, layer_->cfg().delayed_ack);
}

void socket::note_data_arrival() {
    // Linux's tcp_event_data_recv: the first data of a connection, and data after a gap
    // longer than the RTO (the sender restarts from a small window), start quick-ack mode.
    // Each ACK then grows the sender's cwnd in slow start (RFC 5681 §3.1), which a delayed
    // ACK would hold back by up to the delay; RFC 5681 §4.2 and RFC 9293 §3.8.6.3 allow
    // ACKing every segment.
    const time_point now = layer_->now();
    if (!data_arrived_ || now - last_data_at_ > rtt_.rto()) add_quick_acks();
    data_arrived_ = true;
    last_data_at_ = now;
}

void socket::add_quick_acks() {
    // Linux's tcp_incr_quickack: half the receive window (the one last advertised) in
    // segments, at least 2, at most the configured number; never fewer than are left.
    const std::size_t window = rcv_adv_ > last_ack_sent_ ? distance(last_ack_sent_, rcv_adv_) : 0;
    std::size_t n = window / (2u * std::max<std::uint32_t>(mss_, 1));
    if (n == 0) n = 2;
    n = std::min<std::size_t>({n, layer_->cfg().quick_acks, 255});
    if (n > quick_acks_) quick_acks_ = static_cast<std::uint8_t>(n);
}

void socket::send_ack() {
    if (state_ == state::syn_received) return send_syn();
    // A pure ACK carries the highest sequence number sent (as BSD's tcp_output), not SND.NXT:
    // after a timeout SND.NXT is rewound to SND.UNA, and an ACK numbered there lies left of
    // the peer's window when it already has those bytes. The peer would drop it and answer
    // with an ACK of its own; with both ends rewound, that is an endless exchange in which
    // neither ACK is ever processed and the connection stalls until it times out.
    send_segment(snd_max_, 0, flag::ack);
}

void socket::send_challenge_ack() {
    // RFC 5961 §7: challenge ACKs are rate-limited, or a blind attacker's stream of guesses
    // becomes a stream of ACKs. Per connection first (config::challenge_ack_limit a second),
    // then host-wide. A host-wide counter alone is a side channel (CVE-2016-5696, Linux's
    // fixed 100 a second): it is shared by every connection, so an off-path attacker who
    // spoofs a guess at someone else's connection, then provokes the limit's worth of
    // challenge ACKs on its own, sees one fewer exactly when the guess drew a challenge ACK,
    // i.e. was in that window, and learns the 4-tuple, then the sequence numbers, then
    // injects. A per-connection budget is visible to that connection's peer only; the host-
    // wide one, when configured, draws a random budget each second (layer.cpp).
    const unsigned limit = layer_->cfg().challenge_ack_limit;
    if (limit != 0) {
        const time_point now = layer_->now();
        if (challenges_ == 0 || now - challenge_since_ >= std::chrono::seconds(1)) {
            challenge_since_ = now;
            challenges_ = 0;
        }
        if (challenges_ >= limit) {
            ++layer_->stats().challenge_acks_suppressed;
            return;
        }
        ++challenges_;
    }
    if (!layer_->host_challenge_ack_allowed()) {
        ++layer_->stats().challenge_acks_suppressed;
        return;
    }
    // RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, numbered as send_ack()'s.
    ++layer_->stats().challenge_acks;
    send_segment(snd_max_, 0, flag::ack);
}

void socket::send_syn() {
    const config& c = layer_->cfg();
    auto p = packet::allocate(layer_->net().pool());
    if (!p) {
        ++layer_->stats().no_buffers;
        return;
    }
    repr r;
    r.sequence = iss_.raw();
    r.flags = flag::syn;
    r.options.mss = advertised_mss_;
    if (state_ == state::syn_sent) {
        // The active opener offers what it is configured for (RFC 7323, RFC 2018 §2).
        if (c.window_scaling) r.options.window_scale = rcv_wscale_;
        r.options.sack_permitted = c.sack;
        if (c.timestamps) r.options.timestamps = timestamps{ts_now().raw(), 0};
    } else {
        // The passive opener answers with what both sides support.
        r.flags |= flag::ack;
        if (ws_ok_) r.options.window_scale = rcv_wscale_;
        r.options.sack_permitted = sack_ok_;
        if (ts_ok_) r.options.timestamps = timestamps{ts_now().raw(), ts_recent_};
    }
    if (!has(r.flags, flag::ack)) r.window = window_field(true);
    if (snd_max_ == iss_) {
        sampler_.on_send(iss_, iss_ + 1, layer_->now());
    } else {
        ++layer_->stats().retrans_segs;
        ++counts_.total_retrans;
        sampler_.on_retransmit(iss_, iss_ + 1);
    }
    snd_nxt_ = iss_ + 1;
    snd_max_ = seq_max(snd_max_, snd_nxt_);
    transmit(r, std::move(*p));
}

} // namespace coronet::tcp
