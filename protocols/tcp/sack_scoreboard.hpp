#pragma once
// sack_scoreboard: the sender's view of what the receiver holds, for SACK-based loss recovery
// (RFC 6675).
//
// What it keeps. The SACKed bytes above snd.una, as the pieces in which they were first
// reported: each ACK that SACKs new bytes adds the piece(s) it newly covers. RFC 6675 counts
// "discontiguous SACKed sequences" (segments) for IsLost; a piece is the scoreboard's
// stand-in for a segment, since one ACK per arriving segment newly SACKs exactly that
// segment. Pieces are sorted and disjoint but not merged.
//
// Conventions. RFC 6675's HighACK is snd_una - 1 and HighData is snd_nxt - 1; here ranges are
// [begin, end), so HighRxt is kept as high_rxt(), the end of the highest retransmitted byte.
//
// Validation. A block must lie in [snd_una, snd_nxt) (a part below snd_una is trimmed) or it is
// counted and ignored. A D-SACK (RFC 2883 §4: the first block lies below the cumulative ACK,
// or inside the second block) reports a duplicate; it is counted, not recorded.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocols/tcp/seq.hpp"

namespace coronet::tcp {

class sack_scoreboard {
public:
    static constexpr std::uint32_t default_dup_thresh = 3; // RFC 6675 §2 DupThresh

    // What NextSeg() returns (RFC 6675 §4): a range and the rule that chose it.
    struct next_segment {
        enum class rule : std::uint8_t {
            lost = 1,     // (1) the first unSACKed hole above HighRxt that IsLost()
            new_data = 2, // (2) unsent data: [snd_nxt, snd_nxt + SMSS), the engine sizes it
            unsacked = 3, // (3) the first unSACKed hole above HighRxt below the highest SACK
            rescue = 4,   // (4) the rescue retransmission, once per recovery
        };
        seq_range range;
        rule why;
        friend bool operator==(const next_segment&, const next_segment&) = default;
    };
    struct ack_result {
        std::uint32_t newly_sacked = 0; // bytes
        bool dsack = false;
        std::uint32_t invalid_blocks = 0;
    };
    struct statistics {
        std::uint64_t dsacks = 0;
        std::uint64_t invalid_blocks = 0;
    };

    explicit sack_scoreboard(std::uint32_t smss, seq32 snd_una,
                             std::uint32_t dup_thresh = default_dup_thresh)
        : smss_(smss), dup_thresh_(dup_thresh), snd_una_(snd_una), high_rxt_(snd_una),
          marked_lost_(snd_una) {}

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
    // RFC 6675 §4 SetPipe(): over the unSACKed bytes in [snd_una, snd_nxt), one for each byte
    // not IsLost() and one more for each byte below HighRxt.
    std::uint32_t pipe(seq32 snd_nxt) const noexcept;
    // RFC 6675 §4 NextSeg(). `new_data` is the unsent byte count the receive window allows
    // (0: none); the result's length never exceeds SMSS.
    std::optional<next_segment> next_seg(seq32 snd_nxt, std::uint32_t new_data) const noexcept;

    bool is_sacked(seq32 s) const noexcept;
    std::uint32_t sacked_bytes() const noexcept { return sacked_; }
    // The end of the highest SACKed byte, or snd_una when nothing is SACKed.
    seq32 highest_sacked() const noexcept {
        return pieces_.empty() ? snd_una_ : pieces_.back().end;
    }
    seq32 snd_una() const noexcept { return snd_una_; }
    seq32 high_rxt() const noexcept { return high_rxt_; }
    std::optional<seq32> rescue_rxt() const noexcept { return rescue_rxt_; }
    seq32 recovery_point() const noexcept { return recovery_point_; }
    const std::vector<seq_range>& pieces() const noexcept { return pieces_; }
    const statistics& stats() const noexcept { return stats_; }
    // Forgets every SACK (after a retransmission timeout the receiver may have reneged,
    // RFC 2018 §8).
    void clear() noexcept;

private:
    // The unSACKed bytes of [from, to).
    std::uint32_t unsacked_in(seq32 from, seq32 to) const noexcept;
    // The first unSACKed byte at or above `from`, and the hole it starts.
    std::optional<seq_range> first_hole_from(seq32 from) const noexcept;
    // Below this, every unSACKed byte IsLost() (snd_una when none is).
    seq32 lost_below() const noexcept;
    std::uint32_t record(seq_range r);

    std::uint32_t smss_;
    std::uint32_t dup_thresh_;
    seq32 snd_una_;
    seq32 high_rxt_;
    seq32 marked_lost_; // mark_lost(): below this, every unSACKed byte is lost
    seq32 recovery_point_;
    std::optional<seq32> rescue_rxt_;
    std::vector<seq_range> pieces_;
    std::uint32_t sacked_ = 0;
    statistics stats_;
};

} // namespace coronet::tcp
