#pragma once
// reassembly_queue: the receiver's out-of-order queue (RFC 9293 §3.10.7.4: segments beyond
// RCV.NXT are held until the gap before them fills).
//
// How it holds data. The queue is a list of blocks, sorted, disjoint and never adjacent:
// each block is one contiguous run of received bytes, held as one packet whose slices point
// into the received frames (no payload is copied, ever). A new segment only fills holes:
// bytes already queued win, and the new packet is cut to the holes it covers (pull_header,
// split, trim), each piece chained onto its neighbours (packet::append) so that blocks merge.
// The blocks are therefore exactly the SACK blocks to advertise.
//
// Bound. queued bytes never exceed the budget given at construction: a segment whose new bytes
// do not fit is refused whole and counted (the peer will retransmit; RFC 9293 allows the
// receiver to drop out-of-order data). A sequence-space check (is the segment inside the
// receive window?) is the engine's; the queue only requires every block to lie within 2^31
// of rcv_nxt, which a window of at most 2^30 guarantees.
//
// Work. The blocks are a sorted vector: a segment landing in front of the others shifts them
// all, and so does pop(). Whatever the budget (auto-tuning raises it to megabytes, 512 bytes a
// block), at most max_block_count blocks are kept, so one segment costs at most that many
// moves (FreeBSD bounds its queue at 100 segments, net.inet.tcp.reass.maxqueuelen). A peer
// legitimately fills far fewer holes at once: the sender's SACK scoreboard keeps 128 runs.
// stats() counts the work: blocks visited or moved plus binary-search probes, in all and the
// most of any one call.
//
// Memory. The queue is charged, in the host's memory_budget, for the pool buffers it pins:
// one per slice (a segment cut around queued bytes leaves pieces of one buffer in two blocks,
// counted twice), set after every change. Under pressure a segment the budget refuses is
// dropped (no_memory), as Linux drops new out-of-order data first; the engine may also renege
// (clear(), RFC 2018 §8) to make room for in-order data.
//
// SACK (RFC 2018 §4): the first block reported is the one holding the segment that arrived
// last, then the blocks of the previous first blocks, most recent first, then the others.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "protocols/tcp/seq.hpp"

namespace coronet::tcp {

class reassembly_queue {
public:
    static constexpr std::size_t max_reported = 4; // SACK blocks an option can hold

    enum class offer_result : std::uint8_t {
        queued,     // some new bytes were queued (perhaps not all: the rest were there already)
        duplicate,  // every byte was already queued or delivered
        refused,    // the new bytes would exceed the memory budget: dropped
        no_buffers, // no packet descriptor to cut the segment: dropped (ENOBUFS)
        no_memory,  // the host's budget refuses the queue more buffers: dropped
    };
    struct statistics {
        std::uint64_t segments_queued = 0;
        std::uint64_t bytes_queued = 0;
        std::uint64_t duplicate_bytes = 0; // received again, out of order
        std::uint64_t segments_refused = 0;
        std::uint64_t bytes_refused = 0;
        std::uint64_t no_buffers = 0;
        std::uint64_t segments_refused_memory = 0; // no_memory
        std::uint64_t steps = 0;                   // the work, as above
        std::uint64_t max_call_steps = 0; // the most of one offer(), pop() or sack_blocks()
    };

    // Each block holds at least one pool buffer whatever its length, so the budget counts
    // blocks too: at most max_bytes / block_charge of them. Without that a peer sending one
    // byte in every other position of the window would pin a buffer per byte (and make each
    // insertion a long vector move).
    static constexpr std::size_t block_charge = 512;
    static constexpr std::size_t max_block_count = 256;

    // `budget`, when given, is charged for the buffers the queue pins.
    explicit reassembly_queue(std::size_t max_bytes, memory_budget* budget = nullptr)
        : max_bytes_(max_bytes), charge_(budget, queue_kind::tcp_out_of_order) {}

    // A segment of `payload` starting at `seq`, which the engine found acceptable but not at
    // rcv_nxt. Bytes before rcv_nxt are dropped; the rest fill holes.
    offer_result offer(seq32 seq, packet payload, seq32 rcv_nxt);

    // The queued bytes from rcv_nxt on, when there are any: one packet holding the whole
    // contiguous run (the engine appends it to the receive buffer and advances rcv_nxt by its
    // length). Blocks the engine has passed meanwhile are dropped, one overlapping rcv_nxt is
    // trimmed.
    std::optional<packet> pop(seq32 rcv_nxt);

    // The SACK blocks to advertise (RFC 2018 §4), at most `max` (3 with timestamps, 4
    // without), into `out`; returns how many.
    std::size_t sack_blocks(std::span<seq_range> out, std::size_t max = max_reported) const;

    // Drops everything (a reset, or reneging under memory pressure, RFC 2018 §8).
    void clear() noexcept;

    bool empty() const noexcept { return blocks_.empty(); }
    std::size_t bytes() const noexcept { return bytes_; }
    std::size_t block_count() const noexcept { return blocks_.size(); }
    // The runs held, in sequence order.
    std::vector<seq_range> ranges() const;
    std::size_t max_bytes() const noexcept { return max_bytes_; }
    std::size_t max_blocks() const noexcept {
        return std::min(max_block_count, std::max<std::size_t>(8, max_bytes_ / block_charge));
    }
    void set_max_bytes(std::size_t n) noexcept { max_bytes_ = n; }
    const statistics& stats() const noexcept { return stats_; }
    std::uint32_t buffers_charged() const noexcept { return charge_.held(); }

private:
    struct block {
        seq32 begin;
        packet data;
        seq32 end() const noexcept { return begin + static_cast<std::uint32_t>(data.length()); }
    };

    // The index of the first block whose end lies beyond s (the first that may overlap [s, ...)).
    std::size_t first_ending_after(seq32 s) const noexcept;
    // Puts `piece` (starting at `at`, filling a hole) in place, merging with its neighbours.
    void place(seq32 at, packet piece);
    void remember(seq32 s) noexcept;
    // Drops the recent entries for bytes now delivered.
    void forget_below(seq32 s) noexcept;
    // Counts n steps of the call that began when mark_ was set.
    void work(std::size_t n) const noexcept;
    void begin_call() const noexcept { mark_ = stats_.steps; }

    std::vector<block> blocks_;
    std::size_t bytes_ = 0;
    std::size_t slices_ = 0; // of all blocks' packets: what the charge is set to
    std::size_t max_bytes_;
    memory_charge charge_;
    // A byte of each of the most recently arrived segments, newest first (RFC 2018 §4).
    std::array<seq32, max_reported> recent_{};
    std::size_t recent_count_ = 0;
    // Counting is not a change of the queue: sack_blocks(), const, counts too.
    mutable statistics stats_;
    mutable std::uint64_t mark_ = 0;
};

} // namespace coronet::tcp
