#include "protocols/tcp/sack_scoreboard.hpp"

#include <algorithm>
#include <bit>
#include <iterator>

namespace coronet::tcp {

void sack_scoreboard::work(std::uint64_t n) const noexcept {
    steps_ += n;
    max_ack_steps_ = std::max(max_ack_steps_, steps_ - ack_mark_);
    if (work_.steps != nullptr) *work_.steps += n;
    if (work_.max_ack_steps != nullptr)
        work_.max_ack_steps->value = std::max(work_.max_ack_steps->value, steps_ - ack_mark_);
}

std::vector<sack_scoreboard::run>::const_iterator
sack_scoreboard::first_ending_after(seq32 s) const noexcept {
    work(std::bit_width(runs_.size()));
    return std::partition_point(runs_.begin(), runs_.end(),
                                [s](const run& r) { return r.range.end <= s; });
}

sack_scoreboard::ack_result sack_scoreboard::on_ack(seq32 ack, seq32 snd_nxt,
                                                    std::span<const seq_range> blocks) {
    ack_mark_ = steps_;
    ack_result result;
    if (snd_una_ < ack && ack <= snd_nxt) {
        snd_una_ = ack;
        const auto keep = first_ending_after(ack);
        for (auto it = runs_.cbegin(); it != keep; ++it)
            sacked_ -= it->range.length();
        work(runs_.size()); // the erased runs, and the shift of the rest
        runs_.erase(runs_.cbegin(), keep);
        if (!runs_.empty() && runs_.front().range.begin < ack) {
            run& front = runs_.front();
            const std::uint32_t before = front.range.length();
            sacked_ -= distance(front.range.begin, ack);
            front.range.begin = ack;
            // Which pieces lay below the ACK is not kept: assume them of equal size.
            const std::uint64_t left = std::uint64_t{front.segments} * front.range.length();
            front.segments = static_cast<std::uint32_t>((left + before - 1) / before);
        }
        high_rxt_ = seq_max(high_rxt_, ack);
        marked_lost_ = seq_max(marked_lost_, ack);
        work(relost_.size());
        std::erase_if(relost_, [ack](const seq_range& r) { return r.end <= ack; });
        if (!relost_.empty()) relost_.front().begin = seq_max(relost_.front().begin, ack);
    }
    const seq32 highest_before = highest_sacked();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        seq_range r = blocks[i];
        // RFC 2883 §4: a first block below the cumulative ACK, or inside the second, is a
        // D-SACK.
        if (i == 0 && (r.begin < ack || (blocks.size() > 1 && blocks[1].contains(r)))) {
            result.dsack = true;
            ++stats_.dsacks;
            continue;
        }
        if (!(r.begin < r.end) || snd_nxt < r.end || r.end <= snd_una_) {
            ++result.invalid_blocks;
            ++stats_.invalid_blocks;
            continue;
        }
        if (r.begin < snd_una_) r.begin = snd_una_;
        seq32 first_new = r.begin;
        seq32 last_new_end = r.end;
        const std::uint32_t added = record(r, first_new, last_new_end);
        result.newly_sacked += added;
        if (added > 0)
            result.highest_new = result.highest_new ? seq_max(*result.highest_new, last_new_end)
                                                    : last_new_end;
        if (added > 0 && first_new < highest_before && high_rxt_ <= first_new) {
            result.reordered = true;
            const std::uint32_t metric = distance(first_new, highest_before);
            if (smss_ > 0 && metric > reordering_ * smss_)
                reordering_ = (metric + smss_ - 1) / smss_;
        }
    }
    return result;
}

std::uint32_t sack_scoreboard::record(seq_range r, seq32& first_new, seq32& last_new_end) {
    // The runs r overlaps or touches become one, with one more piece per gap r fills.
    auto first = runs_.begin() + (first_ending_after(r.begin) - runs_.cbegin());
    if (first != runs_.begin() && std::prev(first)->range.end == r.begin) --first;
    auto last = first;
    std::uint32_t covered = 0;
    std::uint32_t gaps = 0;
    seq32 cursor = r.begin;
    for (; last != runs_.end() && !(r.end < last->range.begin); ++last) {
        if (cursor < last->range.begin) {
            if (gaps++ == 0) first_new = cursor;
            last_new_end = last->range.begin;
        }
        covered += distance(seq_max(last->range.begin, r.begin), seq_min(last->range.end, r.end));
        cursor = seq_max(cursor, last->range.end);
    }
    work(static_cast<std::uint64_t>(last - first));
    if (cursor < r.end) {
        if (gaps++ == 0) first_new = cursor;
        last_new_end = r.end;
    }
    const std::uint32_t added = r.length() - covered;
    if (added == 0) return 0; // nothing new: a repeated block
    sacked_ += added;
    if (first == last) {
        work(static_cast<std::uint64_t>(runs_.end() - first)); // the shift
        runs_.insert(first, run{r, 1});
        if (runs_.size() > max_runs_) forget_smallest();
        return added;
    }
    first->range = {seq_min(first->range.begin, r.begin),
                    seq_max(std::prev(last)->range.end, r.end)};
    for (auto it = std::next(first); it != last; ++it)
        first->segments += it->segments;
    first->segments += gaps;
    work(static_cast<std::uint64_t>(runs_.end() - last));
    runs_.erase(std::next(first), last);
    return added;
}

void sack_scoreboard::forget_smallest() {
    // The smallest run loses the least: the fewest bytes sent again. Ties: the highest, whose
    // bytes are the last the recovery reaches.
    auto smallest = runs_.begin();
    for (auto it = runs_.begin(); it != runs_.end(); ++it)
        if (it->range.length() <= smallest->range.length()) smallest = it;
    work(2 * runs_.size()); // the scan and the shift
    sacked_ -= smallest->range.length();
    runs_.erase(smallest);
    ++stats_.runs_forgotten;
    if (work_.runs_forgotten != nullptr) ++*work_.runs_forgotten;
}

void sack_scoreboard::enter_recovery(seq32 snd_nxt) noexcept {
    recovery_point_ = snd_nxt;
    high_rxt_ = snd_una_;
    rescue_rxt_.reset();
    relost_.clear(); // nothing lies below the new HighRxt
}

void sack_scoreboard::on_sent(const next_segment& s) noexcept {
    switch (s.why) {
    case next_segment::rule::lost:
    case next_segment::rule::unsacked:
        high_rxt_ = seq_max(high_rxt_, s.range.end);
        break;
    case next_segment::rule::rescue:
        rescue_rxt_ = recovery_point_; // HighRxt does not move (rule 4)
        break;
    case next_segment::rule::relost: {
        // Sent again: no longer lost until RACK says so once more.
        work(relost_.size());
        std::vector<seq_range> kept;
        for (const seq_range& r : relost_) {
            if (!(r.begin < s.range.end && s.range.begin < r.end)) {
                kept.push_back(r);
                continue;
            }
            if (r.begin < s.range.begin) kept.push_back({r.begin, s.range.begin});
            if (s.range.end < r.end) kept.push_back({s.range.end, r.end});
        }
        relost_ = std::move(kept);
        break;
    }
    case next_segment::rule::new_data:
        break;
    }
}

void sack_scoreboard::mark_relost(seq_range r) {
    r.begin = seq_max(r.begin, snd_una_);
    r.end = seq_min(r.end, high_rxt_);
    if (!(r.begin < r.end)) return;
    // Merged with the ranges it overlaps or touches, in order.
    work(relost_.size());
    auto first = std::partition_point(relost_.begin(), relost_.end(),
                                      [&r](const seq_range& x) { return x.end < r.begin; });
    auto last = first;
    for (; last != relost_.end() && !(r.end < last->begin); ++last)
        r = {seq_min(r.begin, last->begin), seq_max(r.end, last->end)};
    first = relost_.erase(first, last);
    relost_.insert(first, r);
    if (relost_.size() > max_runs_) relost_.pop_back();
}

std::optional<seq32> sack_scoreboard::highest_unsacked_end(seq32 from, seq32 to) const noexcept {
    if (!(from < to)) return std::nullopt;
    // Runs do not touch: below the run holding to - 1 lies an unSACKed byte.
    const auto it = first_ending_after(to - 1);
    const seq32 top = it != runs_.end() && !(to - 1 < it->range.begin) ? it->range.begin : to;
    if (!(from < top)) return std::nullopt;
    return top;
}

std::uint32_t sack_scoreboard::sacked_segments() const noexcept {
    work(runs_.size());
    std::uint32_t n = 0;
    for (const run& r : runs_)
        n += r.segments;
    return n;
}

std::uint32_t sack_scoreboard::relost_unsacked_from(seq32 from) const noexcept {
    std::uint32_t n = 0;
    for (const seq_range& r : relost_)
        if (from < r.end) n += unsacked_in(seq_max(r.begin, from), r.end);
    return n;
}

std::uint32_t sack_scoreboard::lost_bytes() const noexcept {
    // Below the loss boundary every unSACKed byte; above it, the relost ones.
    const seq32 below = lost_below();
    return unsacked_in(snd_una_, below) + relost_unsacked_from(below);
}

bool sack_scoreboard::is_lost(seq32 s) const noexcept {
    if (s < marked_lost_) return true;
    const seq32 above = s + 1; // bytes with sequence numbers greater than s
    std::uint32_t count = 0;
    std::uint32_t bytes = 0;
    // Each run adds at least one piece: at most DupThresh runs are visited. A run holding s
    // counts all its pieces (s SACKed is never a hole, and never asked about by NextSeg).
    for (auto it = runs_.rbegin(); it != runs_.rend() && above < it->range.end; ++it) {
        work(1);
        count += it->segments;
        bytes += distance(seq_max(it->range.begin, above), it->range.end);
        if (count >= dup_thresh_ || bytes > (dup_thresh_ - 1) * smss_) return true;
    }
    return false;
}

seq32 sack_scoreboard::lost_below() const noexcept {
    // The pieces inside a run have no unSACKed byte between them: the boundary may as well be
    // the run's beginning as the piece's where the count is reached.
    std::uint32_t count = 0;
    std::uint32_t bytes = 0;
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
        work(1);
        count += it->segments;
        bytes += it->range.length();
        if (count >= dup_thresh_ || bytes > (dup_thresh_ - 1) * smss_)
            return seq_max(it->range.begin, marked_lost_);
    }
    return seq_max(snd_una_, marked_lost_);
}

bool sack_scoreboard::is_sacked(seq32 s) const noexcept {
    const auto it = first_ending_after(s);
    return it != runs_.end() && !(s < it->range.begin);
}

std::uint32_t sack_scoreboard::unsacked_in(seq32 from, seq32 to) const noexcept {
    if (!(from < to)) return 0;
    std::uint32_t sacked = 0;
    for (auto it = first_ending_after(from); it != runs_.end() && it->range.begin < to; ++it) {
        work(1);
        sacked += distance(seq_max(it->range.begin, from), seq_min(it->range.end, to));
    }
    return distance(from, to) - sacked;
}

std::uint32_t sack_scoreboard::pipe(seq32 snd_nxt) const noexcept {
    // (a) unSACKed and not lost: from the loss boundary up; (b) retransmitted: below HighRxt.
    // A retransmission RACK found lost again (relost_) is in neither: lost, and not in flight.
    const seq32 below = seq_max(lost_below(), snd_una_);
    const std::uint32_t relost_above = relost_unsacked_from(below);
    const std::uint32_t relost_all = relost_unsacked_from(snd_una_);
    const std::uint32_t a = unsacked_in(below, snd_nxt);
    const std::uint32_t b = unsacked_in(snd_una_, seq_min(high_rxt_, snd_nxt));
    return (a > relost_above ? a - relost_above : 0) + (b > relost_all ? b - relost_all : 0);
}

std::optional<seq_range> sack_scoreboard::first_hole_from(seq32 from) const noexcept {
    // Runs do not touch: the hole starts at `from` or right after the run holding it.
    const auto it = first_ending_after(from);
    if (it == runs_.end()) return std::nullopt; // no SACKed byte above: not a hole
    if (from < it->range.begin) return seq_range{from, it->range.begin};
    const auto next = std::next(it);
    if (next == runs_.end()) return std::nullopt;
    return seq_range{it->range.end, next->range.begin};
}

std::optional<sack_scoreboard::next_segment>
sack_scoreboard::next_seg(seq32 snd_nxt, std::uint32_t new_data) const noexcept {
    using rule = next_segment::rule;
    auto first = [this](seq_range hole) {
        return seq_range{hole.begin, hole.begin + std::min(hole.length(), smss_)};
    };
    // (0) a retransmission lost again (RFC 8985 §6.2), its first unSACKed piece.
    for (const seq_range& r : relost_) {
        work(1);
        seq32 from = r.begin;
        const auto it = first_ending_after(from);
        auto next = it;
        if (it != runs_.end() && !(from < it->range.begin)) {
            from = it->range.end; // runs do not touch: `from` is unSACKed now
            next = std::next(it);
        }
        if (!(from < r.end)) continue; // all SACKed since
        seq32 to = seq_min(r.end, from + smss_);
        if (next != runs_.end()) to = seq_min(to, next->range.begin);
        return next_segment{{from, to}, rule::relost};
    }
    // (1.a) above HighRxt, (1.b) below the highest SACKed byte, (1.c) IsLost.
    const auto hole = first_hole_from(seq_max(high_rxt_, snd_una_));
    if (hole && is_lost(hole->begin)) return next_segment{first(*hole), rule::lost};
    // (2) new data, when the window allows.
    if (new_data > 0)
        return next_segment{{snd_nxt, snd_nxt + std::min(new_data, smss_)}, rule::new_data};
    // (3) (1.a) and (1.b) without (1.c).
    if (hole) return next_segment{first(*hole), rule::unsacked};
    // (4) one rescue retransmission per recovery, holding the highest unSACKed byte.
    if (rescue_rxt_ && !(*rescue_rxt_ < snd_una_)) return std::nullopt;
    seq32 top = snd_nxt; // the end of the highest unSACKed run
    seq32 floor = snd_una_;
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) { // at most two: runs do not touch
        work(1);
        if (it->range.end != top) {
            floor = it->range.end;
            break;
        }
        top = it->range.begin;
    }
    if (!(floor < top)) return std::nullopt; // everything outstanding is SACKed
    const seq32 begin = distance(floor, top) > smss_ ? top - smss_ : floor;
    // Its retransmission is RACK's to judge: lost again, it comes back as rule (0); sent
    // blindly once more, it is a duplicate whenever it arrived (Linux has no rescue at all).
    if (rack_watches_ && !(high_rxt_ < top)) return std::nullopt;
    return next_segment{{begin, top}, rule::rescue};
}

void sack_scoreboard::clear() noexcept {
    work(1);
    runs_.clear();
    relost_.clear();
    sacked_ = 0;
    marked_lost_ = snd_una_;
}

} // namespace coronet::tcp
