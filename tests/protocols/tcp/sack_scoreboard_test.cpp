#include "protocols/tcp/sack_scoreboard.hpp"

#include <catch2/catch.hpp>

#include <vector>

using coronet::tcp::sack_scoreboard;
using coronet::tcp::seq32;
using coronet::tcp::seq_range;
using rule = sack_scoreboard::next_segment::rule;
using next_segment = sack_scoreboard::next_segment;
using run = sack_scoreboard::run;

namespace {
constexpr std::uint32_t smss = 1000;

seq_range r(std::uint32_t b, std::uint32_t e) { return {seq32{b}, seq32{e}}; }

// The SACKed ranges the scoreboard keeps, without their piece counts.
std::vector<seq_range> ranges(const sack_scoreboard& sb) {
    std::vector<seq_range> v;
    for (const auto& x : sb.runs())
        v.push_back(x.range);
    return v;
}

// A sender with segments [0, 10000) in flight, snd_una at `base`.
struct fixture {
    std::uint32_t base = 0;
    sack_scoreboard sb{smss, seq32{base}};
    seq32 nxt() const { return seq32{base + 10000}; }
    // One ACK at snd_una carrying SACK blocks (offsets from base).
    sack_scoreboard::ack_result sack(std::vector<seq_range> blocks) {
        for (auto& b : blocks)
            b = seq_range{b.begin + base, b.end + base};
        return sb.on_ack(sb.snd_una(), nxt(), blocks);
    }
    // Segment k SACKed by its own ACK, as a receiver reports it.
    void sack_segment(std::uint32_t k) { sack({r(k * smss, (k + 1) * smss)}); }
};
} // namespace

TEST_CASE_METHOD(fixture, "IsLost: DupThresh SACKed segments above (RFC 6675 §4)") {
    sack_segment(1);
    CHECK_FALSE(sb.is_lost(seq32{0}));
    sack_segment(2);
    CHECK_FALSE(sb.is_lost(seq32{0}));
    sack_segment(3);
    CHECK(sb.is_lost(seq32{0}));
    CHECK(sb.is_lost(seq32{999}));
    CHECK_FALSE(sb.is_lost(seq32{4000})); // nothing SACKed above
    CHECK(sb.sacked_bytes() == 3000);
}

TEST_CASE_METHOD(fixture, "IsLost: more than (DupThresh - 1) * SMSS bytes SACKed above") {
    sack({r(1000, 3000)}); // one report, one piece: 2000 bytes, not more than 2000
    CHECK_FALSE(sb.is_lost(seq32{0}));
    sack({r(1000, 3001)});
    CHECK(sb.is_lost(seq32{0}));
    CHECK(sb.runs() == std::vector{run{r(1000, 3001), 2}});
}

TEST_CASE_METHOD(fixture, "IsLost counts discontiguous small segments too") {
    sack({r(1000, 1100)});
    sack({r(1000, 1200)}); // the receiver's block grows: the new part is a new piece
    CHECK_FALSE(sb.is_lost(seq32{0}));
    sack({r(1000, 1300)});
    CHECK(sb.is_lost(seq32{0}));
    CHECK(sb.runs() == std::vector{run{r(1000, 1300), 3}}); // one run of three pieces
}

TEST_CASE_METHOD(fixture, "SetPipe counts unSACKed bytes not lost, plus retransmitted ones") {
    CHECK(sb.pipe(nxt()) == 10000);
    sack_segment(1);
    sack_segment(2);
    sack_segment(3);
    // [0, 1000) is lost, [4000, 10000) is in flight.
    CHECK(sb.pipe(nxt()) == 6000);
    sb.enter_recovery(nxt());
    const auto s = sb.next_seg(nxt(), 0);
    REQUIRE(s);
    sb.on_sent(*s);
    CHECK(sb.high_rxt() == seq32{1000});
    CHECK(sb.pipe(nxt()) == 7000); // the retransmission is in flight again
}

TEST_CASE_METHOD(fixture, "mark_lost (RFC 8985 §6.2): every unSACKed byte below it is lost, "
                          "one SACKed segment above notwithstanding") {
    sack_segment(9); // a tail probe's SACK: one segment, short of DupThresh
    CHECK_FALSE(sb.is_lost(seq32{7000}));
    CHECK(sb.pipe(nxt()) == 9000);
    sb.mark_lost(seq32{9000});
    CHECK(sb.is_lost(seq32{0}));
    CHECK(sb.is_lost(seq32{8999}));
    CHECK(sb.pipe(nxt()) == 0); // lost and not retransmitted: out of the pipe
    sb.enter_recovery(nxt());
    CHECK(*sb.next_seg(nxt(), 0) == next_segment{r(0, 1000), rule::lost});
    sb.on_ack(seq32{4000}, nxt(), {});
    CHECK(sb.is_lost(seq32{4000}));
    sb.clear(); // after an RTO: forgotten with the SACKs
    CHECK_FALSE(sb.is_lost(seq32{4000}));
    CHECK(sb.pipe(nxt()) == 6000);
}

TEST_CASE_METHOD(fixture, "NextSeg rule 1: the first lost hole above HighRxt, at most SMSS") {
    sack({r(3000, 4000)});
    sack({r(4000, 5000)});
    sack({r(5000, 6000)});
    sb.enter_recovery(nxt());
    auto s = sb.next_seg(nxt(), 5000);
    REQUIRE(s);
    CHECK(*s == next_segment{r(0, 1000), rule::lost}); // before new data
    sb.on_sent(*s);
    s = sb.next_seg(nxt(), 5000);
    CHECK(*s == next_segment{r(1000, 2000), rule::lost});
    sb.on_sent(*s);
    s = sb.next_seg(nxt(), 5000);
    CHECK(*s == next_segment{r(2000, 3000), rule::lost});
    sb.on_sent(*s);
    // Rule 2 once the lost holes are retransmitted.
    s = sb.next_seg(nxt(), 5000);
    CHECK(*s == next_segment{r(10000, 11000), rule::new_data});
    s = sb.next_seg(nxt(), 300);
    CHECK(*s == next_segment{r(10000, 10300), rule::new_data});
}

TEST_CASE_METHOD(fixture, "NextSeg rule 1 stops at the next SACKed byte") {
    sack({r(500, 1000)});
    sack({r(1000, 2000)});
    sack({r(2000, 3000)});
    sb.enter_recovery(nxt());
    const auto s = sb.next_seg(nxt(), 0);
    CHECK(*s == next_segment{r(0, 500), rule::lost});
}

TEST_CASE_METHOD(fixture, "NextSeg rule 3: an unSACKed hole not yet lost, when no new data") {
    sack_segment(1);
    sack_segment(5); // two pieces, 2000 bytes: nothing is lost
    sb.enter_recovery(nxt());
    CHECK(*sb.next_seg(nxt(), 1000) == next_segment{r(10000, 11000), rule::new_data});
    auto s = sb.next_seg(nxt(), 0);
    CHECK(*s == next_segment{r(0, 1000), rule::unsacked});
    sb.on_sent(*s);
    s = sb.next_seg(nxt(), 0);
    CHECK(*s == next_segment{r(2000, 3000), rule::unsacked});
}

TEST_CASE_METHOD(fixture,
                 "NextSeg rule 4: one rescue retransmission of the highest unSACKed data") {
    sack_segment(1);
    sack_segment(2);
    sack_segment(3);
    sb.enter_recovery(nxt());
    auto s = sb.next_seg(nxt(), 0);
    sb.on_sent(*s); // [0, 1000)
    s = sb.next_seg(nxt(), 0);
    REQUIRE(s);
    CHECK(*s == next_segment{r(9000, 10000), rule::rescue});
    sb.on_sent(*s);
    CHECK(sb.high_rxt() == seq32{1000}); // rule 4 leaves HighRxt alone
    CHECK(sb.rescue_rxt() == nxt());
    CHECK_FALSE(sb.next_seg(nxt(), 0)); // once per recovery
}

TEST_CASE_METHOD(fixture, "the rescue holds the highest unSACKed byte below the top SACK") {
    sack({r(8000, 10000)});
    sack({r(6000, 7500)});
    sb.enter_recovery(nxt());
    sb.on_sent({r(0, 8000), rule::unsacked}); // as if every hole had been resent
    const auto s = sb.next_seg(nxt(), 0);
    CHECK(*s == next_segment{r(7500, 8000), rule::rescue});
}

TEST_CASE_METHOD(fixture, "a cumulative ACK drops and trims SACKed pieces") {
    sack({r(1000, 2000)});
    sack({r(3000, 4000)});
    sb.on_ack(seq32{1500}, nxt(), {});
    CHECK(sb.snd_una() == seq32{1500});
    CHECK(ranges(sb) == std::vector{r(1500, 2000), r(3000, 4000)});
    CHECK(sb.sacked_bytes() == 1500);
    sb.on_ack(seq32{3500}, nxt(), {});
    CHECK(ranges(sb) == std::vector{r(3500, 4000)});
    CHECK(sb.sacked_bytes() == 500);
    CHECK(sb.high_rxt() == seq32{3500});
    sb.on_ack(seq32{4000}, nxt(), {});
    CHECK(sb.runs().empty());
    CHECK(sb.sacked_bytes() == 0);
}

TEST_CASE_METHOD(fixture, "D-SACK blocks are counted, not recorded (RFC 2883 §4)") {
    sb.on_ack(seq32{2000}, nxt(), {});
    const std::vector below{r(500, 1000), r(3000, 4000)};
    auto a = sb.on_ack(seq32{2000}, nxt(), below);
    CHECK(a.dsack);
    CHECK(a.newly_sacked == 1000);
    CHECK(ranges(sb) == std::vector{r(3000, 4000)});
    const std::vector inside{r(3200, 3300), r(3000, 4000)};
    a = sb.on_ack(seq32{2000}, nxt(), inside);
    CHECK(a.dsack);
    CHECK(a.newly_sacked == 0);
    CHECK(sb.stats().dsacks == 2);
}

TEST_CASE_METHOD(fixture,
                 "blocks outside [snd_una, snd_nxt) are invalid; straddling ones trimmed") {
    sb.on_ack(seq32{2000}, nxt(), {});
    auto a = sack({r(4000, 5000), r(9000, 10001)}); // beyond snd_nxt
    CHECK(a.invalid_blocks == 1);
    a = sack({r(4000, 5000), r(6000, 6000)}); // empty
    CHECK(a.invalid_blocks == 1);
    a = sack({r(4000, 5000), r(6000, 5000)}); // reversed
    CHECK(a.invalid_blocks == 1);
    a = sack({r(4000, 5000), r(1000, 1500)}); // old, not first: stale
    CHECK(a.invalid_blocks == 1);
    CHECK(sb.stats().invalid_blocks == 4);
    CHECK(ranges(sb) == std::vector{r(4000, 5000)});
    // Not the first block, partly below snd_una: the rest counts.
    a = sack({r(4000, 5000), r(1500, 2500)});
    CHECK(a.invalid_blocks == 0);
    CHECK(a.newly_sacked == 500);
    CHECK(ranges(sb) == std::vector{r(2000, 2500), r(4000, 5000)});
}

TEST_CASE("the scoreboard works across the 2^32 wrap") {
    constexpr std::uint32_t base = 0xffff'f000u; // 4096 bytes before the wrap
    fixture f{.base = base, .sb = sack_scoreboard{smss, seq32{base}}};
    f.sack_segment(2);
    f.sack_segment(3);
    f.sack_segment(4); // [base + 4000, base + 5000) straddles 2^32
    CHECK(f.sb.is_lost(seq32{base}));
    CHECK(f.sb.is_lost(seq32{base + 1999}));
    CHECK_FALSE(f.sb.is_lost(seq32{base + 5000}));
    CHECK(f.sb.pipe(f.nxt()) == 5000);
    f.sb.enter_recovery(f.nxt());
    const auto s = f.sb.next_seg(f.nxt(), 0);
    CHECK(*s == next_segment{r(base, base + 1000), rule::lost});
    f.sb.on_ack(seq32{base + 4500}, f.nxt(), {});
    CHECK(ranges(f.sb) == std::vector{r(base + 4500, base + 5000)});
    CHECK(f.sb.sacked_bytes() == 500);
}

TEST_CASE_METHOD(fixture, "clear forgets every SACK") {
    sack_segment(1);
    sb.clear();
    CHECK(sb.runs().empty());
    CHECK(sb.pipe(nxt()) == 10000);
}

TEST_CASE_METHOD(fixture, "touching blocks merge into one run, counting one piece each") {
    sack_segment(1);
    sack_segment(2);
    CHECK(sb.runs() == std::vector{run{r(1000, 3000), 2}});
    CHECK_FALSE(sb.is_lost(seq32{0}));
    sack_segment(3);
    CHECK(sb.runs() == std::vector{run{r(1000, 4000), 3}});
    CHECK(sb.is_lost(seq32{0}));
}

TEST_CASE_METHOD(fixture, "a block bridging runs adds one piece per gap it fills") {
    sack({r(1000, 2000)});
    sack({r(3000, 4000)});
    const auto a = sack({r(500, 4500)}); // fills [500, 1000), [2000, 3000), [4000, 4500)
    CHECK(a.newly_sacked == 2000);
    CHECK(sb.runs() == std::vector{run{r(500, 4500), 5}});
    CHECK(sb.sacked_bytes() == 4000);
    CHECK(sack({r(600, 700)}).newly_sacked == 0); // a repeat changes nothing
    CHECK(sb.runs() == std::vector{run{r(500, 4500), 5}});
}

TEST_CASE_METHOD(fixture, "a cumulative ACK inside a run keeps its pieces in proportion") {
    sack_segment(2);
    sack_segment(3);
    sack_segment(4); // [2000, 5000) in three pieces
    sb.on_ack(seq32{3500}, nxt(), {});
    CHECK(sb.runs() == std::vector{run{r(3500, 5000), 2}}); // ceil(3 * 1500 / 3000)
}

TEST_CASE("over max_runs the smallest run is forgotten, as if never SACKed") {
    sack_scoreboard sb{smss, seq32{0}, sack_scoreboard::default_dup_thresh, 3};
    const seq32 nxt{100000};
    sb.on_ack(seq32{0}, nxt, std::vector{r(1000, 1300)});
    sb.on_ack(seq32{0}, nxt, std::vector{r(2000, 2100)});
    sb.on_ack(seq32{0}, nxt, std::vector{r(3000, 3500)});
    sb.on_ack(seq32{0}, nxt, std::vector{r(4000, 4200)});
    CHECK(ranges(sb) == std::vector{r(1000, 1300), r(3000, 3500), r(4000, 4200)});
    CHECK(sb.sacked_bytes() == 1000);
    CHECK(sb.stats().runs_forgotten == 1);
    CHECK_FALSE(sb.is_sacked(seq32{2050})); // it will be sent again
    sb.enter_recovery(nxt);
    CHECK(sb.pipe(nxt) == 100000 - 1000 - 1000); // [0, 1000) lost: DupThresh runs above
    // A run that merges does not count against the cap.
    sb.on_ack(seq32{0}, nxt, std::vector{r(1300, 2500)});
    CHECK(ranges(sb) == std::vector{r(1000, 2500), r(3000, 3500), r(4000, 4200)});
    CHECK(sb.stats().runs_forgotten == 1);
}

namespace {
// A receiver SACKs 1-byte islands scattered over a 4 MiB flight, four new ones per ACK, and
// the sender does per ACK what the socket does: on_ack, SetPipe, NextSeg until it has sent
// 64 segments. The most steps any one ACK cost.
std::uint64_t max_steps_islands(std::uint32_t max_runs, int acks) {
    constexpr std::uint32_t flight = 4u << 20;
    sack_scoreboard sb{1448, seq32{0}, sack_scoreboard::default_dup_thresh, max_runs};
    const seq32 nxt{flight};
    sb.enter_recovery(nxt);
    std::uint32_t k = 0;
    for (int i = 0; i < acks; ++i) {
        std::vector<seq_range> blocks;
        for (int j = 0; j < 4; ++j, ++k) {
            const std::uint32_t at = 2 + (k * 2654435761u) % (flight / 2) * 2; // even offsets
            blocks.push_back(r(at, at + 1));
        }
        sb.on_ack(seq32{0}, nxt, blocks);
        (void)sb.pipe(nxt);
        for (int s = 0; s < 64; ++s) {
            const auto next = sb.next_seg(nxt, 0);
            if (!next) break;
            sb.on_sent(*next);
        }
    }
    CHECK(sb.runs().size() <= max_runs);
    return sb.max_ack_steps();
}
} // namespace

TEST_CASE("the work of one ACK is bounded by max_runs, not by the islands SACKed") {
    // Without a cap (the scoreboard as it was), the work per ACK grows with the islands.
    const auto uncapped_1k = max_steps_islands(1u << 30, 1000);
    const auto uncapped_4k = max_steps_islands(1u << 30, 4000);
    // With the default cap it stays put, however many ACKs come.
    const auto capped_1k = max_steps_islands(sack_scoreboard::default_max_runs, 1000);
    const auto capped_4k = max_steps_islands(sack_scoreboard::default_max_runs, 4000);
    INFO("max steps per ACK: uncapped " << uncapped_1k << " (1,000 ACKs), " << uncapped_4k
                                        << " (4,000 ACKs); capped " << capped_1k << ", "
                                        << capped_4k);
    CHECK(uncapped_4k > 3 * uncapped_1k);
    CHECK(uncapped_4k > 16000); // about 3.5 steps per island
    CHECK(capped_4k == capped_1k);
    CHECK(capped_4k <= 20 * sack_scoreboard::default_max_runs);
}
