#include "protocols/tcp/reassembly.hpp"

#include <algorithm>
#include <bit>

namespace coronet::tcp {

void reassembly_queue::work(std::size_t n) const noexcept {
    stats_.steps += n;
    stats_.max_call_steps = std::max(stats_.max_call_steps, stats_.steps - mark_);
}

std::size_t reassembly_queue::first_ending_after(seq32 s) const noexcept {
    // Blocks are sorted and disjoint, so their ends are sorted too.
    work(static_cast<std::size_t>(std::bit_width(blocks_.size())));
    const auto it = std::partition_point(blocks_.begin(), blocks_.end(),
                                         [s](const block& b) { return b.end() <= s; });
    return static_cast<std::size_t>(it - blocks_.begin());
}

reassembly_queue::offer_result reassembly_queue::offer(seq32 seq, packet payload, seq32 rcv_nxt) {
    begin_call();
    const auto length = static_cast<std::uint32_t>(payload.length());
    seq32 end = seq + length;
    if (end <= rcv_nxt || length == 0) {
        stats_.duplicate_bytes += length;
        return offer_result::duplicate;
    }
    if (seq < rcv_nxt) { // starts with bytes already delivered
        const std::uint32_t old = distance(seq, rcv_nxt);
        stats_.duplicate_bytes += old;
        (void)payload.pull_header(old); // old < length: cannot fail
        seq = rcv_nxt;
    }

    // The holes [seq, end) covers: measure them first, so that a refusal changes nothing.
    const std::size_t first = first_ending_after(seq);
    std::uint32_t fresh = 0;
    {
        seq32 cursor = seq;
        for (std::size_t i = first; i < blocks_.size() && blocks_[i].begin < end; ++i) {
            work(1);
            if (cursor < blocks_[i].begin) fresh += distance(cursor, blocks_[i].begin);
            cursor = seq_max(cursor, blocks_[i].end());
        }
        if (cursor < end) fresh += distance(cursor, end);
    }
    const std::uint32_t total = distance(seq, end);
    if (fresh == 0) {
        stats_.duplicate_bytes += total;
        remember(seq); // its block goes first in the SACK option all the same
        return offer_result::duplicate;
    }
    if (bytes_ + fresh > max_bytes_ || blocks_.size() >= max_blocks()) {
        ++stats_.segments_refused;
        stats_.bytes_refused += fresh;
        return offer_result::refused;
    }
    if (!charge_.may_grow(static_cast<std::uint32_t>(payload.slice_count()))) {
        ++stats_.segments_refused_memory;
        return offer_result::no_memory;
    }

    // Cut the payload into the hole pieces, from the front. `payload` holds [at, end).
    seq32 at = seq;
    seq32 cursor = seq;
    std::uint32_t placed = 0;
    auto take = [&](seq32 from, seq32 to) -> bool {
        (void)payload.pull_header(distance(at, from)); // within the payload: cannot fail
        at = from;
        auto rest = payload.split(distance(from, to));
        if (!rest) return false;
        packet piece = std::move(payload);
        payload = std::move(*rest);
        at = to;
        placed += distance(from, to);
        place(from, std::move(piece));
        return true;
    };
    bool ok = true;
    while (ok && cursor < end) {
        // Placing a piece merges blocks, so the block at or after the cursor is looked up anew.
        const std::size_t i = first_ending_after(cursor);
        if (i == blocks_.size() || end <= blocks_[i].begin) {
            ok = take(cursor, end);
            break;
        }
        if (cursor < blocks_[i].begin)
            ok = take(cursor, blocks_[i].begin); // now the cursor lies in a block
        else
            cursor = blocks_[i].end();
    }
    stats_.duplicate_bytes += total - placed;
    charge_.set(static_cast<std::uint32_t>(slices_));
    if (placed > 0) {
        ++stats_.segments_queued;
        stats_.bytes_queued += placed;
        remember(seq); // [seq, end) now lies in one block
    }
    if (!ok) {
        ++stats_.no_buffers;
        return placed > 0 ? offer_result::queued : offer_result::no_buffers;
    }
    return offer_result::queued;
}

void reassembly_queue::place(seq32 at, packet piece) {
    const auto length = static_cast<std::uint32_t>(piece.length());
    bytes_ += length;
    slices_ += piece.slice_count(); // a cut of a received payload: no empty head slice
    // The piece fills a hole: no block overlaps it, one may end at `at`, one may begin at
    // its end.
    std::size_t i = first_ending_after(at); // the first block beyond the hole
    const bool joins_previous = i > 0 && blocks_[i - 1].end() == at;
    const bool joins_next = i < blocks_.size() && blocks_[i].begin == at + length;
    if (joins_previous) {
        blocks_[i - 1].data.append(std::move(piece));
        if (joins_next) {
            blocks_[i - 1].data.append(std::move(blocks_[i].data));
            work(blocks_.size() - i); // the shift
            blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        }
    } else if (joins_next) {
        piece.append(std::move(blocks_[i].data));
        blocks_[i].data = std::move(piece);
        blocks_[i].begin = at;
    } else {
        work(blocks_.size() - i); // the shift
        blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(i),
                       block{at, std::move(piece)});
    }
}

void reassembly_queue::remember(seq32 s) noexcept {
    // Newest first, one entry per block: blocks only ever merge, so older entries inside the
    // block holding s would only repeat it.
    const std::size_t i = first_ending_after(s);
    const seq_range block_of_s{blocks_[i].begin, blocks_[i].end()}; // s is queued: it exists
    std::size_t kept = 0;
    for (std::size_t k = 0; k < recent_count_; ++k)
        if (!block_of_s.contains(recent_[k])) recent_[kept++] = recent_[k];
    recent_count_ = std::min(kept + 1, recent_.size());
    for (std::size_t k = recent_count_ - 1; k > 0; --k)
        recent_[k] = recent_[k - 1];
    recent_[0] = s;
}

void reassembly_queue::forget_below(seq32 s) noexcept {
    std::size_t kept = 0;
    for (std::size_t k = 0; k < recent_count_; ++k)
        if (recent_[k] >= s) recent_[kept++] = recent_[k];
    recent_count_ = kept;
}

std::optional<packet> reassembly_queue::pop(seq32 rcv_nxt) {
    begin_call();
    while (!blocks_.empty() && blocks_.front().end() <= rcv_nxt) { // passed by in-order data
        work(blocks_.size());
        bytes_ -= blocks_.front().data.length();
        slices_ -= blocks_.front().data.slice_count();
        blocks_.erase(blocks_.begin());
    }
    if (blocks_.empty() || rcv_nxt < blocks_.front().begin) {
        charge_.set(static_cast<std::uint32_t>(slices_));
        return std::nullopt;
    }
    block& b = blocks_.front();
    slices_ -= b.data.slice_count();
    const std::uint32_t old = distance(b.begin, rcv_nxt);
    (void)b.data.pull_header(old); // old < length: cannot fail
    packet out = std::move(b.data);
    bytes_ -= old + out.length();
    work(blocks_.size());
    blocks_.erase(blocks_.begin());
    charge_.set(static_cast<std::uint32_t>(slices_));
    forget_below(rcv_nxt + static_cast<std::uint32_t>(out.length()));
    return out;
}

std::size_t reassembly_queue::sack_blocks(std::span<seq_range> out, std::size_t max) const {
    begin_call();
    max = std::min({max, out.size(), max_reported});
    std::size_t n = 0;
    auto add = [&](const block& b) {
        const seq_range r{b.begin, b.end()};
        for (std::size_t k = 0; k < n; ++k)
            if (out[k] == r) return;
        out[n++] = r;
    };
    for (std::size_t k = 0; k < recent_count_ && n < max; ++k) {
        const std::size_t i = first_ending_after(recent_[k]);
        if (i < blocks_.size() && blocks_[i].begin <= recent_[k]) add(blocks_[i]);
    }
    for (std::size_t i = 0; i < blocks_.size() && n < max; ++i) {
        work(1);
        add(blocks_[i]);
    }
    return n;
}

void reassembly_queue::clear() noexcept {
    blocks_.clear();
    bytes_ = 0;
    slices_ = 0;
    charge_.set(0);
    recent_count_ = 0;
}

std::vector<seq_range> reassembly_queue::ranges() const {
    std::vector<seq_range> r;
    r.reserve(blocks_.size());
    for (const auto& b : blocks_)
        r.push_back({b.begin, b.end()});
    return r;
}

} // namespace coronet::tcp
