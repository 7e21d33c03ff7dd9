// Packet traces of SACK loss recovery under RFC 6937 Proportional Rate Reduction: what the
// sender sends on each ACK of a recovery is driven by the data that ACK delivered, one
// segment for every RecoverFS / ssthresh segments delivered while the flight is above
// ssthresh, then one per segment delivered (Linux's reduction bound) so that the flight
// settles at ssthresh, never a burst. TCP_INFO's ca_state, retrans and reordering follow.
#include "tests/protocols/tcp/recovery_trace.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// ESTABLISHED with SACK after a 100 ms handshake, then 20 segments in flight: the initial
// window (10), then one ACK per segment 100 ms later, each growing cwnd by one (slow start)
// and letting two go. Returns with segments 11..30 unacknowledged, cwnd 20 segments, nothing
// unread. The round trip keeps RACK's min_RTT at 100 ms (reo_wnd 25 ms): ACKs at the instant
// of the send would make it 0, and RACK would call a hole lost at the first SACK above it.
void twenty_in_flight(trace& t, std::uint32_t segments_written) {
    t.peer_options.sack_permitted = true;
    t.established(100ms);
    t.write(segments_written * smss);
    t.run_for(100ms);
    for (std::uint32_t k = 1; k <= 10; ++k) t.in({.flags = A, .seq = 1, .ack = seg(k + 1)});
    REQUIRE(t.sent.size() == 30);
    t.sent.clear();
    REQUIRE(t.sock()->cwnd() == 20 * smss);
}

// The peer's duplicate ACK of segment 11 (lost), SACKing segments 12 up to `last`.
void sack_to(trace& t, std::uint32_t last) {
    tcp::options o;
    o.sack_blocks[0] = tcp::sack_block{t.iss + seg(12), t.iss + seg(last + 1)};
    o.sack_count = 1;
    t.in({.flags = A, .seq = 1, .ack = seg(11), .opts = o});
}

} // namespace

TEST_CASE("tcp trace PRR: one loss in a window of 20 segments: the fast retransmission, then "
          "one new segment for every two delivered (ssthresh / RecoverFS = 10 / 20), then one "
          "per segment delivered once the flight is down to ssthresh",
          "[tcp][trace][prr][recovery]") {
    trace t(recovery_config());
    twenty_in_flight(t, 44);
    std::uint32_t highest = 30;
    // Segment 11 is lost; 12 and 13 arrive (limited transmit sends 31 and 32 on those two
    // duplicate ACKs, RFC 3042), 14 makes three: recovery.
    sack_to(t, 12);
    CHECK(sent_now(t, highest) == "new 31");
    sack_to(t, 13);
    CHECK(sent_now(t, highest) == "new 32");
    sack_to(t, 14);
    CHECK(sent_now(t, highest) == "rxt 11");
    auto i = t.sock()->connection_info().value();
    CHECK(i.ca_state == tcp_ca_state::recovery);
    CHECK(i.snd_ssthresh == 11); // FlightSize 22 segments / 2
    CHECK(i.retrans == 1);
    CHECK(i.reordering == 3); // nothing arrived out of order below a SACK
    // Each further ACK delivers one segment. While pipe is above ssthresh PRR sends one new
    // segment for every two delivered; at ssthresh (the ACK of 28) it sends what each ACK
    // delivered. RFC 6675 alone (cwnd = ssthresh = 11 segments, pipe 19) would send nothing
    // for eight ACKs, then one per ACK.
    std::vector<std::string> per_ack;
    for (std::uint32_t last = 15; last <= 30; ++last) {
        sack_to(t, last);
        per_ack.push_back(sent_now(t, highest));
    }
    CHECK(per_ack == std::vector<std::string>{"", "new 33", "", "new 34", "", "new 35", "",
                                              "new 36", "", "new 37", "", "new 38", "", "",
                                              "new 39", "new 40"});
    CHECK(t.sock()->connection_info().value().retrans == 1);
    // The retransmission arrives with 31 and 32 (SACKed): a partial ACK (RecoveryPoint is
    // the end of 32) that delivers 3 segments and leaves 8 in flight. SND.UNA advanced: the
    // slow start reduction bound lets ssthresh - pipe = 3 go at once, a burst whose last
    // segment carries PSH.
    tcp::options o;
    o.sack_blocks[0] = tcp::sack_block{t.iss + seg(31), t.iss + seg(33)};
    o.sack_count = 1;
    t.in({.flags = A, .seq = 1, .ack = seg(31), .opts = o});
    std::vector<bool> push;
    for (const auto& s : t.sent) push.push_back(tcp::has(s.h.flags, P));
    CHECK(sent_now(t, highest) == "new 41,new 42,new 43");
    CHECK(push == std::vector<bool>{false, false, true});
    // Everything sent is acknowledged: recovery ends with cwnd at ssthresh.
    t.in({.flags = A, .seq = 1, .ack = seg(44)});
    i = t.sock()->connection_info().value();
    CHECK(i.ca_state == tcp_ca_state::open);
    CHECK(i.snd_cwnd == 11);
    CHECK(i.retrans == 0);
    CHECK(t.counter("sack_recoveries") == 1);
}

TEST_CASE("tcp trace PRR: TCP_INFO's reordering: a segment never retransmitted SACKed 7 "
          "segments below the highest SACK raises it from DupThresh (3) to 7",
          "[tcp][trace][prr][info]") {
    trace t(recovery_config());
    t.peer_options.sack_permitted = true;
    t.established(100ms);
    t.write(10 * smss);
    t.sent.clear();
    auto sack = [&](std::uint32_t k) {
        tcp::options o;
        o.sack_blocks[0] = tcp::sack_block{t.iss + seg(k), t.iss + seg(k + 1)};
        o.sack_count = 1;
        t.in({.flags = A, .seq = 1, .ack = 1, .opts = o});
    };
    sack(5);
    sack(9);
    CHECK(t.sock()->connection_info().value().reordering == 3);
    CHECK(t.sock()->connection_info().value().ca_state == tcp_ca_state::disorder);
    sack(3); // the end of 9 is 7 segments above the start of 3
    CHECK(t.sock()->connection_info().value().reordering == 7);
}

TEST_CASE("tcp trace: after a retransmission timeout TCP_INFO says loss, with the segments "
          "sent again as retrans, until what was outstanding at the timeout is ACKed",
          "[tcp][trace][rto][info]") {
    trace t(recovery_config());
    t.established(10ms);
    t.write(4 * smss);
    t.sent.clear();
    t.run_to_next(); // the RTO: segment 1 again (cwnd 1 SMSS)
    CHECK(t.take().h.sequence == t.iss + seg(1));
    auto i = t.sock()->connection_info().value();
    CHECK(i.ca_state == tcp_ca_state::loss);
    CHECK(i.retrans == 1);
    t.in({.flags = A, .seq = 1, .ack = seg(2)}); // cwnd 2: segments 2 and 3 again
    i = t.sock()->connection_info().value();
    CHECK(i.ca_state == tcp_ca_state::loss);
    CHECK(i.retrans == 2);
    t.in({.flags = A, .seq = 1, .ack = seg(5)});
    i = t.sock()->connection_info().value();
    CHECK(i.ca_state == tcp_ca_state::open);
    CHECK(i.retrans == 0);
}
