#include "protocols/tcp/rack.hpp"

#include <algorithm>

namespace coronet::tcp {

namespace {
bool overlap(seq_range a, seq_range b) noexcept { return a.begin < b.end && b.begin < a.end; }
} // namespace

void rack::on_sent(seq_range r, time_point now, bool retransmission) {
    if (!(r.begin < r.end)) return;
    const std::uint64_t order = ++sends_;
    if (!retransmission) {
        if (runs_.size() >= max_runs) {
            runs_.back() = {seq_max(runs_.back().end, r.end), now, order};
        } else {
            runs_.push_back({r.end, now, order});
        }
        return;
    }
    // A byte's latest send is the one that counts: older records lose what this one covers.
    std::vector<record> kept;
    for (const record& old : records_) {
        if (!overlap(old.range, r)) {
            kept.push_back(old);
            continue;
        }
        if (old.range.begin < r.begin)
            kept.push_back({{old.range.begin, r.begin}, old.at, old.order, old.lost});
        if (r.end < old.range.end) kept.push_back({{r.end, old.range.end}, old.at, old.order, old.lost});
    }
    records_ = std::move(kept);
    records_.push_back({r, now, order, false});
    if (records_.size() > max_records) records_.erase(records_.begin());
}

std::optional<rack::sent_segment> rack::original_segment(seq32 s) const noexcept {
    if (s < una_) return std::nullopt;
    const auto it = std::partition_point(runs_.begin(), runs_.end(),
                                         [s](const run& r) { return r.end <= s; });
    if (it == runs_.end()) return std::nullopt;
    const seq32 begin = it == runs_.begin() ? una_ : std::prev(it)->end;
    return sent_segment{{seq_max(begin, una_), it->end}, it->at, it->order};
}

bool rack::retransmitted(seq_range r) const noexcept {
    return std::any_of(records_.begin(), records_.end(),
                       [r](const record& x) { return overlap(x.range, r); });
}

void rack::forget_below(seq32 una) noexcept {
    if (!(una_ < una)) return;
    una_ = una;
    lost_below_ = seq_max(lost_below_, una);
    while (!runs_.empty() && runs_.front().end <= una)
        runs_.pop_front();
    std::erase_if(records_, [una](const record& x) { return x.range.end <= una; });
    for (record& x : records_)
        x.range.begin = seq_max(x.range.begin, una);
    if (records_.empty()) records_.shrink_to_fit(); // an idle connection holds nothing
}

void rack::on_ack(const delivery& d, time_point now, std::optional<duration> min_rtt) {
    // Step 2, RACK_update: the latest-sent segment among those newly delivered. Originals
    // left in sequence order: the highest one delivered is the latest of theirs (if it was
    // retransmitted, some copy of it sent at or after that time arrived: still a lower bound
    // on what was delivered).
    std::optional<time_point> latest;
    std::uint64_t latest_order = 0;
    const auto consider = [&](time_point t, std::uint64_t order) {
        if (!latest || sent_after(t, order, *latest, latest_order)) {
            latest = t;
            latest_order = order;
        }
    };
    if (d.original) consider(d.original->at, d.original->order);
    // Retransmissions this ACK delivered: counted unless the ACK came sooner than min_RTT
    // after the retransmission (then it is the original's, Linux's tcp_rack_advance; the
    // echoed TSval does not tell, RFC 7323 §4.3 echoes TS.Recent). The delivered bytes
    // leave the record, which then holds only bytes not yet delivered.
    const seq_range cumulative{d.prior_una, d.una};
    std::size_t kept = 0; // compacted in place: each record leaves at most one piece
    for (std::size_t i = 0; i < records_.size(); ++i) {
        const record x = records_[i];
        seq_range left = x.range;
        bool delivered = false;
        const auto take = [&](seq_range by) {
            if (!overlap(left, by)) return;
            delivered = true;
            if (!(left.begin < by.begin)) left.begin = seq_min(left.end, by.end);
            else if (!(by.end < left.end)) left.end = by.begin;
            // A block strictly inside: the record stays whole (its unSACKed ends remain).
        };
        if (d.prior_una < d.una) take(cumulative);
        for (const seq_range& b : d.sacked)
            take(b);
        if (delivered && !(min_rtt && now - x.at < *min_rtt)) consider(x.at, x.order);
        if (left.begin < left.end) records_[kept++] = {left, x.at, x.order, x.lost};
    }
    records_.resize(kept);
    if (latest) {
        rtt_ = now - *latest; // RACK.rtt: of the latest-sent segment delivered
        if (!xmit_ts_ || sent_after(*latest, latest_order, *xmit_ts_, xmit_order_)) {
            xmit_ts_ = latest;
            xmit_order_ = latest_order;
        }
    }
    // Step 3: reordering, a segment never retransmitted delivered below the highest SACK.
    if (d.reordered) reord_ = true;
    // Step 4's DSACK rounds: one growth of the window per round trip of DSACKs.
    if (dsack_round_ && !(d.una < *dsack_round_)) dsack_round_.reset();
    if (!dsack_round_ && d.dsack) {
        dsack_round_ = d.snd_nxt;
        mult_ = std::min(mult_ + 1, 255u);
        persist_ = reo_wnd_persist;
    }
    forget_below(d.una);
}

duration rack::reo_wnd(bool recovering, std::uint32_t sacked_segments, std::uint32_t dup_thresh,
                       std::optional<duration> min_rtt,
                       std::optional<duration> srtt) const noexcept {
    // RFC 8985 §6.2 step 4: without reordering seen, recovery (or DupThresh SACKed segments,
    // where RFC 6675 would start it) marks losses at once.
    if (!reord_ && (recovering || sacked_segments >= dup_thresh)) return duration::zero();
    const duration base = min_rtt.value_or(duration::zero()) / 4 * mult_;
    return srtt ? std::min(base, *srtt) : base;
}

void rack::on_recovery_exit() noexcept {
    if (persist_ > 0 && --persist_ == 0) mult_ = 1;
}

} // namespace coronet::tcp
