// Packet traces of RACK loss detection (RFC 8985 §6.2-6.3) in SACK recovery, beside RFC 6675's
// IsLost: a segment is lost once one sent after it was delivered and the reordering window
// (min_RTT / 4; none in recovery until reordering is seen) has passed. So a retransmission
// lost again is found without the RTO, a segment merely reordered within the window is not
// sent twice, and every hole below the highest SACK of data sent before it counts lost.
#include "tests/protocols/tcp/recovery_trace.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// ESTABLISHED with SACK after a 100 ms handshake (min_RTT = SRTT = 100 ms: reo_wnd 25 ms),
// `segments` written: the initial window (10) leaves at once; then 100 ms pass.
void ten_in_flight(trace& t, std::uint32_t segments) {
    t.peer_options.sack_permitted = true;
    t.established(100ms);
    t.write(segments * smss);
    REQUIRE(t.sent.size() == 10);
    t.sent.clear();
    t.run_for(100ms);
}

// The peer's ACK of everything below segment `una`, SACKing segments [from, to] (k = 0: none),
// and a second block [from2, to2].
void ack(trace& t, std::uint32_t una, std::uint32_t from = 0, std::uint32_t to = 0,
         std::uint32_t from2 = 0, std::uint32_t to2 = 0) {
    tcp::options o;
    if (from != 0) o.sack_blocks[o.sack_count++] = tcp::sack_block{t.iss + seg(from), t.iss + seg(to + 1)};
    if (from2 != 0)
        o.sack_blocks[o.sack_count++] = tcp::sack_block{t.iss + seg(from2), t.iss + seg(to2 + 1)};
    t.in({.flags = A, .seq = 1, .ack = seg(una), .opts = o});
}

} // namespace

TEST_CASE("tcp trace RACK: a retransmission lost again is sent a third time once a segment "
          "sent after it is SACKed, with no RTO",
          "[tcp][trace][rack][recovery]") {
    trace t(recovery_config());
    ten_in_flight(t, 20);
    std::uint32_t highest = 10;
    // Segment 1 is lost; 2 and 3 arrive (limited transmit: 11, 12), 4 makes DupThresh.
    ack(t, 1, 2, 2);
    CHECK(sent_now(t, highest) == "new 11");
    ack(t, 1, 2, 3);
    CHECK(sent_now(t, highest) == "new 12");
    ack(t, 1, 2, 4);
    CHECK(sent_now(t, highest) == "rxt 1");
    // The rest of the window arrives: PRR sends new data, all of it after the retransmission.
    std::string later;
    for (std::uint32_t k = 5; k <= 10; ++k) {
        ack(t, 1, 2, k);
        later += sent_now(t, highest);
    }
    CHECK(later.find("rxt") == std::string::npos);
    CHECK(t.sock()->connection_info().value().retrans == 1);
    // A round trip later the segments sent with and after the retransmission arrive, but
    // not it: 11, sent before it, says nothing about it (RACK.xmit_ts is older), 12 neither;
    // 13, sent after it, does. In recovery, with no reordering seen, reo_wnd is 0: lost at once.
    t.run_for(100ms);
    ack(t, 1, 2, 11);
    ack(t, 1, 2, 12);
    CHECK(t.counter("rack_relost") == 0);
    const std::string before = sent_now(t, highest);
    CHECK(before.find("rxt") == std::string::npos);
    ack(t, 1, 2, 13);
    CHECK(t.counter("rack_relost") == 1);
    const std::string third = sent_now(t, highest);
    CHECK(third.rfind("rxt 1", 0) == 0); // first, before any new data
    CHECK(t.counter("retrans_segs") == 2);
    CHECK(t.counter("timeouts") == 0);
    // Sent again, it is in flight again: TCP_INFO's retrans counts it, lost still does.
    auto i = t.sock()->connection_info().value();
    CHECK(i.retrans == 1);
    CHECK(i.lost == 1);
    // Its third copy arrives (before the RTO, armed when the window was sent, 300 ms after
    // it): everything sent so far is ACKed, recovery is over.
    t.run_for(50ms);
    ack(t, highest + 1);
    i = t.sock()->connection_info().value();
    CHECK(i.ca_state == tcp_ca_state::open);
    CHECK(i.lost == 0);
    CHECK(t.counter("recoveries") == 1);
    CHECK(t.counter("timeouts") == 0);
}

TEST_CASE("tcp trace RACK: a segment reordered by less than reo_wnd is not sent again; one "
          "missing after it is, by the reorder timer",
          "[tcp][trace][rack]") {
    trace t(recovery_config());
    ten_in_flight(t, 10);
    std::uint32_t highest = 10;
    // Segment 2 is SACKed, 1 is not: one segment SACKed, short of DupThresh, so the window
    // is min_RTT / 4 = 25 ms, and the reorder timer waits for it (Linux's 2 ms slack on top).
    ack(t, 1, 2, 2);
    CHECK(sent_now(t, highest).empty());
    SECTION("1 arrives 10 ms later, inside the window") {
        t.run_for(10ms);
        ack(t, 3);
        t.run_for(100ms);
        CHECK(sent_now(t, highest).empty());
        CHECK(t.counter("retrans_segs") == 0);
        CHECK(t.counter("rack_losses") == 0);
        CHECK(t.counter("recoveries") == 0);
        CHECK(t.counter("rack_reorder_timeouts") == 0); // the ACK cancelled it
        CHECK(t.sock()->connection_info().value().ca_state == tcp_ca_state::open);
    }
    SECTION("1 never arrives: lost 27 ms after the SACK, not after the RTO") {
        const time_point sacked_at = t.clock.now();
        (void)t.run_to_next();
        CHECK(t.clock.now() - sacked_at == 27ms);
        CHECK(sent_now(t, highest) == "rxt 1");
        CHECK(t.counter("rack_reorder_timeouts") == 1);
        CHECK(t.counter("rack_losses") == 1);
        CHECK(t.counter("recoveries") == 1);
        CHECK(t.counter("timeouts") == 0);
        CHECK(t.sock()->connection_info().value().lost == 1);
    }
}

TEST_CASE("tcp trace RACK: entering recovery, TCP_INFO's lost counts every hole below the "
          "highest SACK of segments sent before it; RFC 6675's IsLost alone counts fewer",
          "[tcp][trace][rack][info]") {
    // As packetdrill's sack-shift-sacked-2-6-8-3-9-nofack: 3, 7 and 9 of 10 SACKed, 1 ms apart.
    const auto sack_3_7_9 = [](trace& t) {
        ten_in_flight(t, 10);
        ack(t, 1, 3, 3);
        t.run_for(1ms);
        ack(t, 1, 3, 3, 7, 7);
        t.run_for(1ms);
        CHECK(t.sock()->connection_info().value().ca_state == tcp_ca_state::disorder);
        ack(t, 1, 9, 9, 3, 3); // the third SACKed segment
        return t.sock()->connection_info().value();
    };
    SECTION("RACK") {
        trace t(recovery_config());
        const auto i = sack_3_7_9(t);
        CHECK(i.ca_state == tcp_ca_state::recovery);
        CHECK(i.lost == 6); // 1, 2, 4, 5, 6, 8: all sent with 9, before it
        CHECK(i.sacked == 3);
        CHECK(t.counter("rack_losses") >= 1);
    }
    SECTION("rack = false") {
        tcp::config c = recovery_config();
        c.rack = false;
        trace t(c);
        const auto i = sack_3_7_9(t);
        CHECK(i.ca_state == tcp_ca_state::recovery);
        CHECK(i.lost == 2); // 1 and 2: the only hole with DupThresh SACKed segments above it
    }
}
