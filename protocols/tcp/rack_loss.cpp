// RACK loss detection (RFC 8985 §6.2) and its reorder timer (§6.3) in the sender: the glue
// between the ACK path, the send path, rack.hpp's state and the SACK scoreboard, which keeps
// what is lost (RACK's marks beside RFC 6675's IsLost) and picks what to send (NextSeg: lost
// retransmissions first, then lost holes, then new data).
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>

namespace coronet::tcp {

void socket::rack_sent(seq32 seq, seq32 end) {
    if (!sack_ok_ || layer_ == nullptr || !layer_->cfg().rack) return;
    if (!rack_) rack_ = std::make_unique<rack>(snd_una_);
    const time_point now = layer_->now();
    // After a timeout everything is sent again and RACK waits (in_loss_): not recorded.
    if (seq < snd_max_ && !in_loss_) rack_->on_sent({seq, seq_min(end, snd_max_)}, now, true);
    if (snd_max_ < end) rack_->on_sent({seq_max(seq, snd_max_), end}, now, false);
}

socket::rack_cumulative socket::rack_cumulative_part(seq32 ack) const noexcept {
    rack_cumulative c;
    if (!rack_ || !(snd_una_ < ack) || snd_max_ < ack) return c;
    c.top = sb_ ? sb_->highest_unsacked_end(snd_una_, ack) : std::optional<seq32>(ack);
    // A hole below the highest SACK filled by a byte that was never sent again: it arrived
    // out of order (RFC 8985 §6.2 step 3; Linux's tcp_clean_rtx_queue reports it too).
    c.reordered = c.top && sb_ && *c.top < sb_->highest_sacked() && sb_->high_rxt() < *c.top &&
                  !rack_->retransmitted({*c.top - 1, *c.top});
    return c;
}

bool socket::rack_on_ack(seq32 ack, const rack_cumulative& cum,
                         const sack_scoreboard::ack_result& sacked, std::span<const seq_range> blocks) {
    if (!rack_) return false;
    std::optional<seq32> top = cum.top;
    if (sacked.highest_new) top = top ? seq_max(*top, *sacked.highest_new) : sacked.highest_new;
    rack::delivery d;
    d.prior_una = snd_una_;
    d.una = seq_max(ack, snd_una_);
    // The segment holding the highest newly delivered byte, or the one below when that one
    // is not delivered whole (a block that ends inside a segment).
    const auto whole = [&](seq_range r) {
        return !(d.una < r.end) || (sb_ && sb_->unsacked_in(seq_max(r.begin, d.una), r.end) == 0);
    };
    if (top) {
        auto seg = rack_->original_segment(*top - 1);
        if (seg && !whole(seg->range)) seg = rack_->original_segment(seg->range.begin - 1);
        if (seg && whole(seg->range)) d.original = seg;
    }
    d.sacked = blocks.subspan(sacked.dsack && !blocks.empty() ? 1 : 0);
    d.reordered = cum.reordered || sacked.reordered;
    d.dsack = sacked.dsack;
    d.snd_nxt = snd_max_;
    rack_->on_ack(d, layer_->now(), min_rtt_);
    return rack_detect_loss();
}

bool socket::rack_detect_loss() {
    // RACK needs the scoreboard (the SACKed bytes); after a timeout it waits for the ACKs of
    // what the timeout sent again.
    if (!rack_ || !sb_ || in_loss_ || snd_una_ == snd_max_) {
        reorder_timer_.cancel();
        return false;
    }
    const duration reo = rack_->reo_wnd(in_recovery_, sb_->sacked_segments(),
                                        sack_scoreboard::default_dup_thresh, min_rtt_, rtt_.srtt());
    const std::uint32_t lost_before = sb_->lost_bytes();
    std::uint64_t relost = 0;
    const auto v = rack_->detect_loss(layer_->now(), reo, [&](seq_range r) {
        // The data only: a FIN sent again and lost again is the RTO's (NextSeg's ranges
        // carry bytes, and one holding only the FIN could never be sent).
        r.end = seq_min(r.end, snd_.end());
        if (r.begin < r.end) sb_->mark_relost(r);
        ++relost;
    });
    sb_->mark_lost(v.lost_below);
    if (v.timeout)
        // + timeout_min, as Linux's tcp_rack_mark_lost: a timer that fires at the very instant
        // a segment's window ends, on a coarse clock, would find it not yet due.
        arm(reorder_timer_, *v.timeout + timeout_min);
    else
        reorder_timer_.cancel();
    layer_->stats().rack_relost += relost;
    const bool newly = sb_->lost_bytes() > lost_before;
    if (newly) ++layer_->stats().rack_losses;
    return newly;
}

void socket::reorder_timeout() {
    if (layer_ == nullptr || !synchronized(state_) || state_ == state::time_wait || !sb_) return;
    ++layer_->stats().rack_reorder_timeouts;
    const std::uint32_t pipe_before = sb_->pipe(snd_max_);
    if (!rack_detect_loss()) return;
    // No ACK came: nothing was delivered (RFC 6937's DeliveredData is 0).
    ack_delivered_ = 0;
    ack_una_advanced_ = false;
    if (!in_recovery_) {
        // RFC 8985 §6.3: the timer's losses start recovery as an ACK's would (RFC 6675 §5).
        if (sb_->is_lost(snd_una_) && (snd_una_ > recover_ || recover_ == iss_)) enter_recovery();
        return;
    }
    // In recovery: what the marks took out of the pipe may be sent again, packet conservation
    // (Linux's cwnd - in_flight after tcp_rack_reo_timeout).
    const std::uint32_t pipe_after = sb_->pipe(snd_max_);
    if (pipe_before > pipe_after) prr_quota_ += pipe_before - pipe_after;
    sack_recovery_send();
}

} // namespace coronet::tcp
