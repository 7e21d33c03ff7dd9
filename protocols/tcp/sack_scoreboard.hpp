#pragma once
// sack_scoreboard: the sender's view of what the receiver holds, for SACK-based loss recovery
// (RFC 6675).
//
// What it keeps. The SACKed bytes above snd.una as runs: maximal contiguous ranges, sorted,
// neither overlapping nor touching. RFC 6675 counts "discontiguous SACKed sequences"
// (segments) for IsLost; each run keeps how many pieces it was reported in (each ACK that
// SACKs new bytes adds one piece per gap it newly covers), the scoreboard's stand-in for
// segments, since one ACK per arriving segment newly SACKs exactly that segment. The count
// above an unSACKed byte is exact; that is all IsLost is asked about (holes, snd.una).
//
// Work per ACK is bounded whatever the receiver reports (CVE-2018-5390, CVE-2019-11478: a
// receiver SACKing scattered 1-byte islands of a large flight made every ACK cost O(flight)).
// At most max_runs runs are kept (FreeBSD caps a connection's SACK holes at 128 the same
// way, net.inet.tcp.sack.maxholes); one beyond that forgets the smallest run, as if it had
// never been SACKed: its bytes look lost and are sent again, which is safe (RFC 2018 §8 lets
// a receiver renege anyway). Every operation is then O(max_runs) at worst: a binary search,
// a shift of the vector, a scan. steps() counts that work: runs visited or moved, plus the
// probes of each binary search; with counters given, the host's tcp counters get the total
// and the most any one ACK cost (its on_ack and what ran after it until the next ACK).
//
// Conventions. RFC 6675's HighACK is snd_una - 1 and HighData is snd_nxt - 1; here ranges are
// [begin, end), so HighRxt is kept as high_rxt(), the end of the highest retransmitted byte.
//
// Validation. A block must lie in [snd_una, snd_nxt) (a part below snd_una is trimmed) or it is
// counted and ignored. A D-SACK (RFC 2883 §4: the first block lies below the cumulative ACK,
// or inside the second block) reports a duplicate; it is counted, not recorded.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "framework/counters.hpp"
#include "protocols/tcp/seq.hpp"

namespace coronet::tcp {

// Where a scoreboard's work is counted host-wide (the tcp layer's counters); any may be null.
struct sack_work_counters {
    counter* steps = nullptr;         // every step
    counter* max_ack_steps = nullptr; // a high-water mark: the most steps of one ACK
    counter* runs_forgotten = nullptr;
};

class sack_scoreboard {
public:
    static constexpr std::uint32_t default_dup_thresh = 3; // RFC 6675 §2 DupThresh
    static constexpr std::uint32_t default_max_runs = 128;

    // SACKed bytes [range), reported in `segments` pieces.
    struct run {
        seq_range range;
        std::uint32_t segments = 1;
        friend bool operator==(const run&, const run&) = default;
    };
    using work_counters = sack_work_counters;

    // What NextSeg() returns (RFC 6675 §4): a range and the rule that chose it.
    struct next_segment {
        enum class rule : std::uint8_t {
            lost = 1,     // (1) the first unSACKed hole above HighRxt that IsLost()
            new_data = 2, // (2) unsent data: [snd_nxt, snd_nxt + SMSS), the engine sizes it
            unsacked = 3, // (3) the first unSACKed hole above HighRxt below the highest SACK
            rescue = 4,   // (4) the rescue retransmission, once per recovery
            relost = 5,   // (0) before all: a retransmission RACK found lost again (mark_relost)
        };
        seq_range range;
        rule why;
        friend bool operator==(const next_segment&, const next_segment&) = default;
    };
    struct ack_result {
        std::uint32_t newly_sacked = 0; // bytes
        bool dsack = false;
        std::uint32_t invalid_blocks = 0;
        std::optional<seq32> highest_new; // the end of the highest newly SACKed byte
        // A byte never retransmitted (at or above HighRxt) newly SACKed below the highest SACK
        // before this ACK (RFC 8985 §6.2 step 3's reordering).
        bool reordered = false;
    };
    struct statistics {
        std::uint64_t dsacks = 0;
        std::uint64_t invalid_blocks = 0;
        std::uint64_t runs_forgotten = 0; // over max_runs
    };

    explicit sack_scoreboard(std::uint32_t smss, seq32 snd_una,
                             std::uint32_t dup_thresh = default_dup_thresh,
                             std::uint32_t max_runs = default_max_runs, work_counters wc = {})
        : smss_(smss), dup_thresh_(dup_thresh), max_runs_(std::max<std::uint32_t>(max_runs, 1)),
          snd_una_(snd_una), high_rxt_(snd_una), marked_lost_(snd_una), work_(wc) {}

    // An ACK arrived: cumulative `ack` (ignored when not ahead of snd_una), with its SACK
    // blocks, while `snd_nxt` was the next byte to send.
    ack_result on_ack(seq32 ack, seq32 snd_nxt, std::span<const seq_range> blocks);

    // Loss recovery begins (RFC 6675 §5 step 4): RecoveryPoint = snd_nxt (HighData),
    // HighRxt = snd_una, RescueRxt undefined.
    void enter_recovery(seq32 snd_nxt) noexcept;
    // The engine sent the segment NextSeg() chose: HighRxt moves for rules (1) and (3)
    // (§5 step C.3), RescueRxt = RecoveryPoint for rule (4).
    void on_sent(const next_segment& s) noexcept;

    // RFC 6675 §4 IsLost(SeqNum): DupThresh discontiguous SACKed sequences above `s`, or more
    // than (DupThresh - 1) * SMSS bytes SACKed above it.
    bool is_lost(seq32 s) const noexcept;
    // RFC 8985 §6.2 (RACK): every unSACKed byte below `end` is lost, whatever IsLost() says,
    // because a segment sent after them was delivered and the reordering window has passed.
    // Kept until SND.UNA passes it or clear().
    void mark_lost(seq32 end) noexcept { marked_lost_ = seq_max(marked_lost_, end); }
    seq32 marked_lost() const noexcept { return marked_lost_; }
    // RFC 8985 §6.2: the retransmission of [r) was lost too (a segment sent after it was
    // delivered). Its unSACKed bytes leave the pipe (no longer in flight) and NextSeg sends
    // them again before anything else (rule relost). Kept for the part below HighRxt (above
    // it, nothing was retransmitted in this recovery); at most max_runs ranges (past that,
    // the highest is forgotten: the RTO repairs it).
    void mark_relost(seq_range r);
    const std::vector<seq_range>& relost() const noexcept { return relost_; }
    // RACK watches the retransmissions (it reports those lost again): NextSeg's rescue
    // (rule 4) then never resends data already retransmitted in this recovery.
    void set_rack_watches(bool on) noexcept { rack_watches_ = on; }
    // The end of the highest unSACKed byte of [from, to), if any.
    std::optional<seq32> highest_unsacked_end(seq32 from, seq32 to) const noexcept;
    // The SACKed segments (RACK.segs_sacked, as IsLost counts them: pieces of runs).
    std::uint32_t sacked_segments() const noexcept;
    // RFC 6675 §4 SetPipe(): over the unSACKed bytes in [snd_una, snd_nxt), one for each byte
    // not IsLost() and one more for each byte below HighRxt.
    std::uint32_t pipe(seq32 snd_nxt) const noexcept;
    // RFC 6675 §4 NextSeg(). `new_data` is the unsent byte count the receive window allows
    // (0: none); the result's length never exceeds SMSS.
    std::optional<next_segment> next_seg(seq32 snd_nxt, std::uint32_t new_data) const noexcept;

    bool is_sacked(seq32 s) const noexcept;
    // The unSACKed bytes of [from, to) (clamped to what lies above snd_una).
    std::uint32_t unsacked_in(seq32 from, seq32 to) const noexcept;
    // The most reordering seen, in segments (at least DupThresh), measured as Linux's
    // tcp_check_sack_reordering: a segment never retransmitted (at or above HighRxt) newly
    // SACKed below the highest SACK arrived that far out of order. A statistic (TCP_INFO's
    // reordering): IsLost() keeps DupThresh.
    std::uint32_t reordering() const noexcept { return reordering_; }
    std::uint32_t sacked_bytes() const noexcept { return sacked_; }
    // The unSACKed bytes that IsLost() or RACK's marks count lost (TCP_INFO's lost).
    std::uint32_t lost_bytes() const noexcept;
    // The end of the highest SACKed byte, or snd_una when nothing is SACKed.
    seq32 highest_sacked() const noexcept {
        return runs_.empty() ? snd_una_ : runs_.back().range.end;
    }
    seq32 snd_una() const noexcept { return snd_una_; }
    seq32 high_rxt() const noexcept { return high_rxt_; }
    std::optional<seq32> rescue_rxt() const noexcept { return rescue_rxt_; }
    seq32 recovery_point() const noexcept { return recovery_point_; }
    const std::vector<run>& runs() const noexcept { return runs_; }
    const statistics& stats() const noexcept { return stats_; }
    // The work done so far (see the top of the file), and the most of it one ACK took.
    std::uint64_t steps() const noexcept { return steps_; }
    std::uint64_t max_ack_steps() const noexcept { return max_ack_steps_; }
    // Forgets every SACK (after a retransmission timeout the receiver may have reneged,
    // RFC 2018 §8).
    void clear() noexcept;

private:
    // The first unSACKed byte at or above `from`, and the hole it starts.
    std::optional<seq_range> first_hole_from(seq32 from) const noexcept;
    // Below this, every unSACKed byte IsLost() (snd_una when none is).
    seq32 lost_below() const noexcept;
    // Adds r; the bytes newly SACKed, and in `first_new` the lowest of them.
    // Adds r; the bytes newly SACKed, in `first_new` the lowest of them and in `last_new_end`
    // the end of the highest.
    std::uint32_t record(seq_range r, seq32& first_new, seq32& last_new_end);
    // The unSACKed bytes of the relost ranges at or above `from`.
    std::uint32_t relost_unsacked_from(seq32 from) const noexcept;
    void forget_smallest();
    // The first run whose end lies beyond s (runs are sorted and disjoint, so ends are too).
    std::vector<run>::const_iterator first_ending_after(seq32 s) const noexcept;
    void work(std::uint64_t n) const noexcept;

    std::uint32_t smss_;
    std::uint32_t dup_thresh_;
    std::uint32_t max_runs_;
    seq32 snd_una_;
    seq32 high_rxt_;
    seq32 marked_lost_; // mark_lost(): below this, every unSACKed byte is lost
    seq32 recovery_point_;
    std::optional<seq32> rescue_rxt_;
    std::vector<run> runs_;
    std::vector<seq_range> relost_; // mark_relost(): sorted, disjoint, below HighRxt
    bool rack_watches_ = false;
    std::uint32_t sacked_ = 0;
    std::uint32_t reordering_ = dup_thresh_;
    statistics stats_;
    work_counters work_;
    // Counting is not a change of the scoreboard's state: the const queries count too.
    mutable std::uint64_t steps_ = 0;
    mutable std::uint64_t ack_mark_ = 0; // steps_ when the last ACK arrived
    mutable std::uint64_t max_ack_steps_ = 0;
};

} // namespace coronet::tcp
