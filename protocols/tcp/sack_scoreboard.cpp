#include "protocols/tcp/sack_scoreboard.hpp"

#include <algorithm>

namespace coronet::tcp {

namespace {
// The first piece whose end lies beyond s (pieces are sorted and disjoint, so ends are too).
auto first_ending_after(const std::vector<seq_range>& v, seq32 s) {
    return std::partition_point(v.begin(), v.end(), [s](const seq_range& r) { return r.end <= s; });
}
} // namespace

sack_scoreboard::ack_result sack_scoreboard::on_ack(seq32 ack, seq32 snd_nxt,
                                                    std::span<const seq_range> blocks) {
    ack_result result;
    if (snd_una_ < ack && ack <= snd_nxt) {
        snd_una_ = ack;
        const auto keep = first_ending_after(pieces_, ack);
        for (auto it = pieces_.begin(); it != keep; ++it)
            sacked_ -= it->length();
        pieces_.erase(pieces_.begin(), keep);
        if (!pieces_.empty() && pieces_.front().begin < ack) {
            sacked_ -= distance(pieces_.front().begin, ack);
            pieces_.front().begin = ack;
        }
        high_rxt_ = seq_max(high_rxt_, ack);
        marked_lost_ = seq_max(marked_lost_, ack);
    }
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
        result.newly_sacked += record(r);
    }
    return result;
}

std::uint32_t sack_scoreboard::record(seq_range r) {
    // Adds the parts of r not SACKed yet, each a piece of its own.
    std::uint32_t added = 0;
    seq32 cursor = r.begin;
    while (cursor < r.end) {
        const auto it = first_ending_after(pieces_, cursor);
        if (it != pieces_.end() && !(cursor < it->begin)) { // cursor is SACKed already
            cursor = it->end;
            continue;
        }
        const seq32 stop = it == pieces_.end() ? r.end : seq_min(r.end, it->begin);
        pieces_.insert(it, seq_range{cursor, stop});
        added += distance(cursor, stop);
        cursor = stop;
    }
    sacked_ += added;
    return added;
}

void sack_scoreboard::enter_recovery(seq32 snd_nxt) noexcept {
    recovery_point_ = snd_nxt;
    high_rxt_ = snd_una_;
    rescue_rxt_.reset();
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
    case next_segment::rule::new_data:
        break;
    }
}

bool sack_scoreboard::is_lost(seq32 s) const noexcept {
    if (s < marked_lost_) return true;
    const seq32 above = s + 1; // bytes with sequence numbers greater than s
    std::uint32_t count = 0;
    std::uint32_t bytes = 0;
    for (auto it = pieces_.rbegin(); it != pieces_.rend() && above < it->end; ++it) {
        ++count;
        bytes += distance(seq_max(it->begin, above), it->end);
        if (count >= dup_thresh_ || bytes > (dup_thresh_ - 1) * smss_) return true;
    }
    return false;
}

seq32 sack_scoreboard::lost_below() const noexcept {
    std::uint32_t count = 0;
    std::uint32_t bytes = 0;
    for (auto it = pieces_.rbegin(); it != pieces_.rend(); ++it) {
        ++count;
        bytes += it->length();
        if (count >= dup_thresh_ || bytes > (dup_thresh_ - 1) * smss_)
            return seq_max(it->begin, marked_lost_);
    }
    return seq_max(snd_una_, marked_lost_);
}

bool sack_scoreboard::is_sacked(seq32 s) const noexcept {
    const auto it = first_ending_after(pieces_, s);
    return it != pieces_.end() && !(s < it->begin);
}

std::uint32_t sack_scoreboard::unsacked_in(seq32 from, seq32 to) const noexcept {
    if (!(from < to)) return 0;
    std::uint32_t sacked = 0;
    for (auto it = first_ending_after(pieces_, from); it != pieces_.end() && it->begin < to; ++it)
        sacked += distance(seq_max(it->begin, from), seq_min(it->end, to));
    return distance(from, to) - sacked;
}

std::uint32_t sack_scoreboard::pipe(seq32 snd_nxt) const noexcept {
    // (a) unSACKed and not lost: from the loss boundary up; (b) retransmitted: below HighRxt.
    return unsacked_in(seq_max(lost_below(), snd_una_), snd_nxt) +
           unsacked_in(snd_una_, seq_min(high_rxt_, snd_nxt));
}

std::optional<seq_range> sack_scoreboard::first_hole_from(seq32 from) const noexcept {
    for (auto it = first_ending_after(pieces_, from); it != pieces_.end(); ++it) {
        if (from < it->begin) return seq_range{from, it->begin};
        from = it->end;
    }
    return std::nullopt; // no SACKed byte above: not a hole in the RFC's sense
}

std::optional<sack_scoreboard::next_segment>
sack_scoreboard::next_seg(seq32 snd_nxt, std::uint32_t new_data) const noexcept {
    using rule = next_segment::rule;
    auto first = [this](seq_range hole) {
        return seq_range{hole.begin, hole.begin + std::min(hole.length(), smss_)};
    };
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
    for (auto it = pieces_.rbegin(); it != pieces_.rend(); ++it) {
        if (it->end != top) {
            floor = it->end;
            break;
        }
        top = it->begin;
    }
    if (!(floor < top)) return std::nullopt; // everything outstanding is SACKed
    const seq32 begin = distance(floor, top) > smss_ ? top - smss_ : floor;
    return next_segment{{begin, top}, rule::rescue};
}

void sack_scoreboard::clear() noexcept {
    pieces_.clear();
    sacked_ = 0;
    marked_lost_ = snd_una_;
}

} // namespace coronet::tcp
