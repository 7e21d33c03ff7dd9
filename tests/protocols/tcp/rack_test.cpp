// rack (RFC 8985 §6.2) on its own: which segments its rule calls lost, when its timer is due,
// reo_wnd's cases, and its bounds.
#include "protocols/tcp/rack.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace coronet;
using coronet::tcp::rack;
using coronet::tcp::seq32;
using coronet::tcp::seq_range;

namespace {
using namespace std::chrono_literals;
constexpr std::uint32_t smss = 1000;

seq_range seg(std::uint32_t k) { return {seq32{k * smss}, seq32{(k + 1) * smss}}; }
time_point at(duration d) { return time_point{} + d; }

// The ACK at `now` SACKing segment k whole (snd_una stays 0).
void sack(rack& r, std::uint32_t k, duration now, std::optional<duration> min_rtt = 100ms) {
    const seq_range b = seg(k);
    rack::delivery d;
    d.prior_una = d.una = seq32{0};
    d.original = r.original_segment(b.begin);
    d.sacked = std::span(&b, 1);
    d.snd_nxt = seq32{100 * smss};
    r.on_ack(d, at(now), min_rtt);
}

struct verdict {
    seq32 lost_below;
    std::optional<duration> timeout;
    std::vector<seq_range> relost;
};
verdict detect(rack& r, duration now, duration reo) {
    verdict v;
    const auto x = r.detect_loss(at(now), reo, [&](seq_range s) { v.relost.push_back(s); });
    v.lost_below = x.lost_below;
    v.timeout = x.timeout;
    return v;
}
} // namespace

TEST_CASE("rack: segments sent before a delivered one are lost once reo_wnd has passed; the "
          "timer is due when the last of them is") {
    rack r(seq32{0});
    for (std::uint32_t k = 0; k < 4; ++k) r.on_sent(seg(k), at(k * 1ms), false);
    sack(r, 3, 100ms + 3ms); // RACK.rtt 100 ms
    // reo_wnd 0: 0, 1 and 2 were sent before 3 and have waited RACK.rtt.
    CHECK(detect(r, 103ms, 0ms).lost_below == seg(2).end);
    rack q(seq32{0});
    for (std::uint32_t k = 0; k < 4; ++k) q.on_sent(seg(k), at(k * 1ms), false);
    sack(q, 3, 103ms);
    // reo_wnd 25 ms: none yet; segment 2's deadline (2 + 100 + 25 ms) is the last.
    auto v = detect(q, 103ms, 25ms);
    CHECK(v.lost_below == seq32{0});
    REQUIRE(v.timeout);
    CHECK(*v.timeout == 24ms);
    // At 126 ms 0 and 1 are due (at 125 and 126 ms), 2 (at 127 ms) is not.
    v = detect(q, 126ms, 25ms);
    CHECK(v.lost_below == seg(1).end);
    REQUIRE(v.timeout);
    CHECK(*v.timeout == 1ms);
}

TEST_CASE("rack: a tie of send times is broken by the send order: a retransmission sent in the "
          "same tick as later new data is not sent before it") {
    rack r(seq32{0});
    for (std::uint32_t k = 0; k < 4; ++k) r.on_sent(seg(k), at(0ms), false);
    r.on_sent(seg(0), at(100ms), true); // segment 0 again
    r.on_sent(seg(4), at(100ms), false); // new data, same tick, after it
    // Segment 1 SACKed: its original (0 ms) is before the retransmission, which stays.
    sack(r, 1, 200ms);
    auto v = detect(r, 200ms, 0ms);
    CHECK(v.relost.empty());
    // Segment 4 SACKed at 200 ms: sent after the retransmission, so segment 0 is lost again.
    sack(r, 4, 200ms);
    v = detect(r, 200ms, 0ms);
    REQUIRE(v.relost.size() == 1);
    CHECK(v.relost[0] == seg(0));
    // Reported once.
    CHECK(detect(r, 300ms, 0ms).relost.empty());
}

TEST_CASE("rack: a retransmission delivered sooner than min_RTT after it was sent is taken for "
          "the original's and does not advance RACK.xmit_ts") {
    rack r(seq32{0});
    for (std::uint32_t k = 0; k < 3; ++k) r.on_sent(seg(k), at(0ms), false);
    r.on_sent(seg(2), at(150ms), true);
    sack(r, 2, 160ms); // 10 ms after the retransmission, min_RTT 100 ms
    REQUIRE(r.xmit_ts());
    CHECK(*r.xmit_ts() == at(0ms)); // the original's time: a lower bound
    CHECK(r.record_count() == 0);    // delivered either way
}

TEST_CASE("rack: reo_wnd is 0 in recovery or with DupThresh SACKed until reordering is seen, "
          "min_RTT / 4 otherwise, grown per DSACK round up to SRTT") {
    rack r(seq32{0});
    CHECK(r.reo_wnd(true, 0, 3, 100ms, 200ms) == 0ms);
    CHECK(r.reo_wnd(false, 3, 3, 100ms, 200ms) == 0ms);
    CHECK(r.reo_wnd(false, 2, 3, 100ms, 200ms) == 25ms);
    r.on_sent(seg(0), at(0ms), false);
    r.on_sent(seg(1), at(0ms), false);
    rack::delivery d;
    d.prior_una = d.una = seq32{0};
    d.reordered = true;
    d.dsack = true;
    d.snd_nxt = seg(1).end;
    r.on_ack(d, at(100ms), 100ms);
    CHECK(r.reordering_seen());
    CHECK(r.reo_wnd(true, 0, 3, 100ms, 200ms) == 50ms); // multiplier 2
    r.on_ack(d, at(101ms), 100ms); // the same round: no second growth
    CHECK(r.reo_wnd_mult() == 2);
    CHECK(r.reo_wnd(false, 0, 3, 100ms, 40ms) == 40ms); // at most SRTT
    for (unsigned i = 0; i < rack::reo_wnd_persist; ++i) r.on_recovery_exit();
    CHECK(r.reo_wnd_mult() == 1);
}

TEST_CASE("rack: bounded: at most max_records retransmissions and max_runs original runs") {
    rack r(seq32{0});
    const std::uint32_t n = static_cast<std::uint32_t>(rack::max_runs) + 10;
    for (std::uint32_t k = 0; k < n; ++k) r.on_sent(seg(k), at(k * 1us), false);
    CHECK(r.run_count() == rack::max_runs);
    for (std::uint32_t k = 0; k < rack::max_records + 10; ++k) r.on_sent(seg(k), at(1s), true);
    CHECK(r.record_count() == rack::max_records);
    // The last run took the later bytes and the later time: the whole tail is one segment.
    const auto last = r.original_segment(seg(n - 1).begin);
    REQUIRE(last);
    CHECK(last->range.end == seg(n - 1).end);
    CHECK(last->at == at((n - 1) * 1us));
}
