#pragma once
// rack: RFC 8985 §6.2 loss detection (RACK) for one connection's sender. A segment is lost
// when one sent after it was delivered (ACKed or SACKed) and a reordering window has passed
// since it was sent: time, not a count of SACKed segments above it (RFC 6675's DupThresh),
// so it also finds a retransmission that was lost again, and holes far below the highest SACK.
//
// What it keeps. When each outstanding segment last left: original transmissions as runs of
// (end, time) in sequence order, which is also their send order (new data leaves in
// sequence), one a segment; retransmissions, which break that order, as records in send
// order, each with its range and time. Segments, not bytes: RACK counts a segment delivered
// once all of it is (a SACK of its last byte alone is not, as Linux's tcp_match_skb_to_sack
// applies no block smaller than a segment). The latest-sent
// segment known delivered (RACK.xmit_ts and its place in the send order) and RACK.rtt (§6.2
// step 2). RFC 8985 breaks a tie of send times by end_seq (RACK_sent_after), which is the
// send order for new data but not for a retransmission sent in the same clock tick as later
// new data; a counter of transmissions gives the order itself. Whether
// reordering was seen (RACK.reord, step 3); the DSACK-driven multiplier of reo_wnd (step 4).
//
// What it answers (step 5, detect_loss): the original bytes below a boundary are lost (one
// boundary is enough: originals left in sequence order, so those sent before the RACK segment
// and past the window are a prefix); the retransmissions sent before the RACK segment and past
// the window, each once; and when to look again (the reorder timer, §6.3) for those sent
// before it but still inside the window. Which of those bytes are SACKed is the scoreboard's
// business: it counts and retransmits only unSACKed ones.
//
// Bounds. Per ACK: a binary search over the runs plus a pass over the records; the loss
// boundary only moves up, so the runs it passes are visited once. At most max_records
// retransmissions are kept (the oldest goes: its bytes fall back on their original send time,
// an earlier one, which makes RACK's answers about them conservative: an older delivered
// time marks fewer segments lost, never more) and at most max_runs original runs (past it,
// new bytes join the last run and give it their later time: conservative the same way).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "framework/clock.hpp"
#include "protocols/tcp/lazy_deque.hpp"
#include "protocols/tcp/seq.hpp"

namespace coronet::tcp {

class rack {
public:
    static constexpr std::size_t max_runs = 4096;
    static constexpr std::size_t max_records = 256;
    // RFC 8985 §6.2 step 4: reo_wnd_persist, the recoveries a grown window outlives.
    static constexpr unsigned reo_wnd_persist = 16;

    explicit rack(seq32 snd_una) noexcept : una_(snd_una), lost_below_(snd_una) {}

    // The segment [r) left at `now`; `retransmission`: its bytes were sent before.
    void on_sent(seq_range r, time_point now, bool retransmission);

    // An original transmission: its bytes, when they left and their place in the send order.
    struct sent_segment {
        seq_range range;
        time_point at;
        std::uint64_t order = 0;
    };
    // The original transmission holding byte `s` (none: not outstanding).
    std::optional<sent_segment> original_segment(seq32 s) const noexcept;

    // What one ACK delivered (§6.2 steps 1-3, and step 4's DSACK rounds).
    struct delivery {
        seq32 prior_una;
        seq32 una;
        // The highest original segment it delivered whole (none: none), the latest sent of
        // the originals it delivered.
        std::optional<sent_segment> original;
        // Its SACK blocks (a D-SACK block excluded), checked against SND.UNA/SND.MAX.
        std::span<const seq_range> sacked;
        bool reordered = false; // a never-retransmitted byte delivered below the highest SACK
        bool dsack = false;
        seq32 snd_nxt;
    };
    void on_ack(const delivery& d, time_point now, std::optional<duration> min_rtt);

    // §6.2 step 4: RACK.reo_wnd. Zero without reordering seen, in recovery or with
    // DupThresh segments SACKed; else min_RTT / 4, times the DSACK multiplier, at most SRTT.
    duration reo_wnd(bool recovering, std::uint32_t sacked_segments, std::uint32_t dup_thresh,
                     std::optional<duration> min_rtt, std::optional<duration> srtt) const noexcept;
    // Fast or RTO recovery ended: the grown window lasts reo_wnd_persist of them.
    void on_recovery_exit() noexcept;

    // §6.2 step 5. `on_relost(range)` for each retransmission newly deemed lost.
    struct verdict {
        seq32 lost_below;                // every original byte below it is lost
        std::optional<duration> timeout; // the reorder timer, for segments inside the window
    };
    template <class F>
    verdict detect_loss(time_point now, duration reo_wnd, F&& on_relost);

    // A retransmission of some byte in [r) is outstanding (not yet delivered).
    bool retransmitted(seq_range r) const noexcept;
    // After a retransmission timeout everything is sent again: the records go (the
    // connection runs no RACK until the timeout's losses are ACKed, ack.cpp).
    void on_timeout() noexcept { records_ = {}; }

    std::optional<time_point> xmit_ts() const noexcept { return xmit_ts_; }
    bool reordering_seen() const noexcept { return reord_; }
    unsigned reo_wnd_mult() const noexcept { return mult_; }
    std::size_t run_count() const noexcept { return runs_.size(); }
    std::size_t record_count() const noexcept { return records_.size(); }

private:
    struct run {
        seq32 end;
        time_point at;
        std::uint64_t order;
    };
    struct record {
        seq_range range;
        time_point at;
        std::uint64_t order = 0;
        bool lost = false;
    };
    // RACK_sent_after(t1, o1, t2, o2), the tie of times broken by the send order.
    static bool sent_after(time_point t1, std::uint64_t o1, time_point t2, std::uint64_t o2) noexcept {
        return t1 > t2 || (t1 == t2 && o1 > o2);
    }
    void forget_below(seq32 una) noexcept;

    seq32 una_;
    seq32 lost_below_;
    // [una_, runs_[0].end), [runs_[0].end, runs_[1].end) ...; nothing allocated while empty
    // (an idle connection holds no deque node).
    lazy_deque<run> runs_;
    std::vector<record> records_; // in send order
    std::uint64_t sends_ = 0;           // transmissions so far: the send order
    std::optional<time_point> xmit_ts_; // RACK.xmit_ts
    std::uint64_t xmit_order_ = 0;      // its transmission's order (for RACK.end_seq)
    duration rtt_{};                // RACK.rtt
    bool reord_ = false;            // RACK.reord
    unsigned mult_ = 1;             // RACK.reo_wnd_mult
    unsigned persist_ = 0;          // RACK.reo_wnd_persist
    std::optional<seq32> dsack_round_;
};

template <class F>
rack::verdict rack::detect_loss(time_point now, duration reo_wnd, F&& on_relost) {
    // "remaining = Segment.xmit_ts + RACK.rtt + RACK.reo_wnd - Now()": lost at <= 0; the
    // timer waits for the largest of the others (RFC 8985 §6.2 step 5, as Linux's).
    verdict v{lost_below_, std::nullopt};
    if (!xmit_ts_) return v;
    const time_point rack_ts = *xmit_ts_;
    const auto wait = [&](duration remaining) {
        v.timeout = v.timeout ? std::max(*v.timeout, remaining) : remaining;
    };
    // Originals: from the run holding the boundary up, while sent before the RACK segment.
    auto it = std::partition_point(runs_.begin(), runs_.end(),
                                   [this](const run& r) { return r.end <= lost_below_; });
    const auto before_rack = [&](const run& r) {
        return sent_after(rack_ts, xmit_order_, r.at, r.order);
    };
    for (; it != runs_.end() && before_rack(*it); ++it) {
        const duration remaining = it->at + rtt_ + reo_wnd - now;
        if (remaining > duration::zero()) {
            // Later runs left later: the last one sent before the RACK segment waits longest.
            const auto last = std::partition_point(it, runs_.end(), before_rack);
            wait(std::prev(last)->at + rtt_ + reo_wnd - now);
            break;
        }
        lost_below_ = seq_max(lost_below_, it->end);
        v.lost_below = lost_below_;
    }
    // Retransmissions, in send order until one left after the RACK segment.
    for (record& r : records_) {
        if (!sent_after(rack_ts, xmit_order_, r.at, r.order)) break;
        if (r.lost) continue;
        const duration remaining = r.at + rtt_ + reo_wnd - now;
        if (remaining > duration::zero()) {
            wait(remaining);
            continue;
        }
        r.lost = true;
        on_relost(r.range);
    }
    return v;
}

} // namespace coronet::tcp
