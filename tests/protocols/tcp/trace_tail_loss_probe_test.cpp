// The tail loss probe (RFC 8985 §7) at exact virtual times: when it leaves (PTO = 2*SRTT, plus
// 2 ms for a flight of more than one segment, Linux's TCP_TIMEOUT_MIN, or WCDelAckT = 200 ms
// for a one-segment flight), what it sends (the last segment again, or new data the window
// allows), and how its ACK is read: a probe that repaired a loss cuts cwnd once, as a fast
// recovery would; one whose original arrived too (a DSACK, or the echo of the original's
// TSval) cuts nothing. Off, or without SACK, the RTO repairs the tail.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// NewReno, whose cut is exact: ssthresh = max(FlightSize / 2, 2*SMSS). RFC 6298 §2.4's 1 s
// minimum RTO keeps the RTO out of the PTO's way (the cap has its own test).
tcp::config probe_config() {
    tcp::config c = trace_config();
    c.congestion = tcp::congestion_algorithm::newreno;
    c.rtt.min_rto = 1s;
    return c;
}

// ESTABLISHED with SACK (and timestamps when `ts`) after a handshake that took 100 ms:
// SRTT = 100 ms.
void established_sack(trace& t, bool ts) {
    t.connect();
    auto syn = t.take();
    t.iss = syn.h.sequence;
    t.local_port = syn.h.source_port.value();
    t.restart_clock();
    t.run_for(100ms);
    tcp::options o = trace::mss(1460);
    o.sack_permitted = true;
    if (ts) o.timestamps = tcp::timestamps{1000, syn.h.options.timestamps->value};
    t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = o});
    (void)t.take();
    t.restart_clock();
}

// After established_sack (no timestamps), four 1,460-byte segments leave at 0 ms and at
// 100 ms the peer acknowledges the first `acked`: the others are the tail that was lost.
void send_four_ack(trace& t, std::uint32_t acked) {
    established_sack(t, false);
    t.write(4 * 1460);
    for (int i = 0; i < 4; ++i) (void)t.take();
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1 + acked * 1460});
}

tcp::options echo(std::uint32_t tsval) {
    tcp::options o;
    o.timestamps = tcp::timestamps{2000, tsval};
    return o;
}

tcp::options sack(const trace& t, std::uint32_t left, std::uint32_t right) {
    tcp::options o;
    o.sack_blocks[0] = tcp::sack_block{t.iss + left, t.iss + right};
    o.sack_count = 1;
    return o;
}

} // namespace

TEST_CASE("tcp tail loss probe: the lost last segment is sent again 2*SRTT + 200 ms after the "
          "ACK of the others; the ACK echoing the probe cuts cwnd once, no RTO",
          "[tcp][trace][tlp]") {
    trace t(probe_config());
    established_sack(t, true); // MSS 1448: 1460 less the timestamps
    t.write(4 * 1448);
    std::uint32_t first_ts = 0;
    for (int i = 0; i < 4; ++i) {
        auto s = t.take();
        CHECK(s.h.sequence - t.iss == 1 + 1448u * static_cast<std::uint32_t>(i));
        if (i == 0) first_ts = s.h.options.timestamps->value;
    }
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1 + 3 * 1448, .opts = echo(first_ts)}); // the 4th is lost
    CHECK(t.sock()->rtt().srtt() == 100ms);
    const std::uint32_t cwnd = t.sock()->cwnd();
    // One segment in flight: PTO = 2 * 100 ms + 200 ms after the ACK at 100 ms.
    CHECK(t.run_to_next() == 500ms);
    auto probe = t.take();
    CHECK(t.describe(probe) == "500ms [P.] seq 4345 ack 1 win 65535 len 1448 <ts>");
    CHECK(t.counter("tlp_probes") == 1);
    CHECK(t.sock()->cwnd() == cwnd); // a probe is not yet a loss
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1448, .opts = echo(probe.h.options.timestamps->value)});
    // RFC 5681 §3.2 eq. 4 with the one-segment flight the probe left in: 2*SMSS.
    CHECK(t.sock()->ssthresh() == 2 * 1448);
    CHECK(t.sock()->cwnd() == 2 * 1448);
    CHECK(t.counter("tlp_recoveries") == 1);
    t.run_for(10s);
    CHECK(t.quiet());
    CHECK(t.counter("timeouts") == 0);
    CHECK(t.counter("recoveries") == 0);
    CHECK(t.counter("retrans_segs") == 1);
    CHECK(t.sock()->cwnd() == 2 * 1448); // once
}

TEST_CASE("tcp tail loss probe: with data waiting behind cwnd, the probe is new data, 2*SRTT + 2 ms "
          "after the flight left; its ACK cuts nothing", "[tcp][trace][tlp]") {
    trace t(probe_config());
    established_sack(t, false);
    t.write(12 * 1460); // IW is 10 segments: two wait
    for (int i = 0; i < 10; ++i) (void)t.take();
    CHECK(t.run_to_next() == 202ms); // ten segments in flight: PTO = 2 * SRTT + 2 ms
    CHECK(t.out() == "202ms [.] seq 14601 ack 1 win 65535 len 1460");
    CHECK(t.quiet());
    CHECK(t.counter("tlp_probes") == 1);
    CHECK(t.counter("retrans_segs") == 0);
    t.run_for(100ms);
    const std::uint32_t cwnd = t.sock()->cwnd();
    t.in({.flags = A, .seq = 1, .ack = 1 + 11 * 1460});
    CHECK(t.out() == "302ms [P.] seq 16061 ack 1 win 65535 len 1460");
    CHECK(t.sock()->cwnd() > cwnd); // slow start goes on
    CHECK(t.counter("tlp_recoveries") == 0);
}

TEST_CASE("tcp tail loss probe: when the original arrived as well, the probe cuts nothing",
          "[tcp][trace][tlp]") {
    trace t(probe_config());
    SECTION("the DSACK for the probe tells (no timestamps: the ACK of TLPHighRxt waits for it)") {
        send_four_ack(t, 3);
        CHECK(t.run_to_next() == 500ms);
        CHECK(t.out() == "500ms [P.] seq 4381 ack 1 win 65535 len 1460");
        const std::uint32_t cwnd = t.sock()->cwnd();
        t.run_for(10ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1460}); // the original's, late
        t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1460, .opts = sack(t, 4381, 5841)});
        CHECK(t.sock()->cwnd() >= cwnd);
    }
    SECTION("the echo of the original's TSval tells") {
        established_sack(t, true);
        t.write(4 * 1448);
        std::uint32_t first_ts = 0;
        for (int i = 0; i < 4; ++i) {
            auto s = t.take();
            if (i == 0) first_ts = s.h.options.timestamps->value;
        }
        t.run_for(100ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 3 * 1448, .opts = echo(first_ts)});
        CHECK(t.run_to_next() == 500ms);
        (void)t.take();
        const std::uint32_t cwnd = t.sock()->cwnd();
        t.run_for(10ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1448, .opts = echo(first_ts)});
        CHECK(t.sock()->cwnd() >= cwnd);
    }
    CHECK(t.counter("tlp_probes") == 1);
    CHECK(t.counter("tlp_recoveries") == 0);
    CHECK(t.sock()->ssthresh() == tcp::congestion_control::initial_ssthresh);
    t.run_for(10s);
    CHECK(t.quiet());
    CHECK(t.counter("timeouts") == 0);
}

TEST_CASE("tcp tail loss probe: without timestamps, an ACK beyond TLPHighRxt with no DSACK "
          "shows that the probe repaired a loss", "[tcp][trace][tlp]") {
    trace t(probe_config());
    send_four_ack(t, 3);
    CHECK(t.run_to_next() == 500ms);
    (void)t.take();
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1460}); // the probe's or the original's?
    CHECK(t.counter("tlp_recoveries") == 0);
    t.write(100);
    CHECK(t.out() == "600ms [P.] seq 5841 ack 1 win 65535 len 100");
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1460 + 100}); // no DSACK came: the probe's
    CHECK(t.counter("tlp_recoveries") == 1);
    CHECK(t.sock()->cwnd() == 2 * 1460);
}

TEST_CASE("tcp tail loss probe: a PTO later than the RTO would fire goes at the RTO's time",
          "[tcp][trace][tlp]") {
    tcp::config c = probe_config();
    c.rtt.min_rto = 200ms;
    trace t(c);
    established_sack(t, false); // RTO = 100 + 4 * 50 = 300 ms
    t.write(2 * 1460);
    (void)t.take();
    (void)t.take();
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1461}); // SRTT 100 ms, RTTVAR 37.5 ms: RTO 250 ms
    // PTO = 2 * 100 + 200 = 400 ms, beyond the RTO's 250 ms: the probe goes at 350 ms.
    CHECK(t.run_to_next() == 350ms);
    CHECK(t.out() == "350ms [P.] seq 1461 ack 1 win 65535 len 1460");
    CHECK(t.counter("tlp_probes") == 1);
    CHECK(t.counter("timeouts") == 0);
    // The RTO backs the probe up, from the probe on.
    CHECK(t.run_to_next() == 600ms);
    CHECK(t.out() == "600ms [P.] seq 1461 ack 1 win 65535 len 1460");
    CHECK(t.counter("timeouts") == 1);
    CHECK(t.counter("tlp_probes") == 1);
}

TEST_CASE("tcp tail loss probe: off, or without SACK, the tail waits for the RTO",
          "[tcp][trace][tlp]") {
    tcp::config c = probe_config();
    SECTION("tail_loss_probe = false") {
        c.tail_loss_probe = false;
        trace t(c);
        send_four_ack(t, 3);
        CHECK(t.run_to_next() == 1100ms); // the 1 s RTO after the ACK
        CHECK(t.out() == "1100ms [P.] seq 4381 ack 1 win 65535 len 1460");
        CHECK(t.counter("tlp_probes") == 0);
        CHECK(t.counter("timeouts") == 1);
    }
    SECTION("no SACK") {
        trace t(c);
        t.established();
        t.write(4 * 1460);
        for (int i = 0; i < 4; ++i) (void)t.take();
        t.in({.flags = A, .seq = 1, .ack = 1 + 3 * 1460});
        CHECK(t.run_to_next() == 1000ms);
        CHECK(t.out() == "1000ms [P.] seq 4381 ack 1 win 65535 len 1460");
        CHECK(t.counter("tlp_probes") == 0);
        CHECK(t.counter("timeouts") == 1);
    }
}

TEST_CASE("tcp tail loss probe: two segments lost at the tail, the probe's SACK marks the one "
          "below it lost (RFC 8985 §6.2) and SACK recovery resends it at once, no RTO",
          "[tcp][trace][tlp]") {
    tcp::config c = probe_config();
    SECTION("tail_loss_rack (default)") {
        trace t(c);
        send_four_ack(t, 2); // SRTT = min_RTT = 100 ms: reo_wnd 25 ms; the 3rd and 4th lost
        const std::uint32_t cwnd = t.sock()->cwnd();
        CHECK(t.run_to_next() == 302ms); // two segments in flight: PTO = 2 * SRTT + 2 ms
        CHECK(t.out() == "302ms [P.] seq 4381 ack 1 win 65535 len 1460");
        CHECK(t.quiet());
        t.run_for(100ms);
        // Only the probe arrived: the 3rd segment, sent 300 ms (> reo_wnd) before it, is lost.
        t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460, .opts = sack(t, 4381, 5841)});
        CHECK(t.out() == "402ms [.] seq 2921 ack 1 win 65535 len 1460");
        // PRR (RFC 6937): the ACK delivered one segment (the probe's SACK) and moved nothing
        // cumulatively, so one segment goes; RFC 6675's cwnd - pipe alone left room for its
        // rule (4) rescue too, the same segment once more.
        CHECK(t.quiet());
        CHECK(t.counter("tlp_rack_losses") == 1);
        CHECK(t.counter("recoveries") == 1);
        CHECK(t.counter("sack_recoveries") == 1);
        // RFC 6675 §5 step 4 (RFC 5681 §3.2 eq. 4): FlightSize 2 segments, ssthresh 2*SMSS.
        CHECK(cwnd > 2 * 1460);
        CHECK(t.sock()->ssthresh() == 2 * 1460);
        CHECK(t.sock()->cwnd() == 2 * 1460);
        t.run_for(100ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 4 * 1460});
        t.run_for(10s);
        CHECK(t.quiet());
        CHECK(t.sock()->snd_una().raw() - t.iss == 1 + 4 * 1460);
        CHECK(t.counter("timeouts") == 0);
        CHECK(t.counter("tlp_probes") == 1);
        CHECK(t.counter("tlp_recoveries") == 0); // the recovery was the one response
        CHECK(t.counter("retrans_segs") == 2); // the probe and the 3rd segment
        CHECK(t.sock()->cwnd() == 2 * 1460); // cut once
    }
    SECTION("a SACK sooner than min_RTT after the probe is the original's: nothing is marked") {
        trace t(c);
        send_four_ack(t, 2);
        CHECK(t.run_to_next() == 302ms);
        (void)t.take();
        t.run_for(50ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460, .opts = sack(t, 4381, 5841)});
        CHECK(t.quiet());
        CHECK(t.counter("tlp_rack_losses") == 0);
        CHECK(t.counter("recoveries") == 0);
    }
    SECTION("tail_loss_rack = false: RACK's own loss detection (config::rack) marks it") {
        c.tail_loss_rack = false;
        trace t(c);
        send_four_ack(t, 2);
        CHECK(t.run_to_next() == 302ms);
        (void)t.take();
        t.run_for(100ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460, .opts = sack(t, 4381, 5841)});
        CHECK(t.out() == "402ms [.] seq 2921 ack 1 win 65535 len 1460");
        CHECK(t.counter("tlp_rack_losses") == 0);
        CHECK(t.counter("rack_losses") == 1);
        CHECK(t.counter("recoveries") == 1);
    }
    SECTION("tail_loss_rack = false and rack = false: the RTO repairs it") {
        c.tail_loss_rack = false;
        c.rack = false;
        trace t(c);
        send_four_ack(t, 2);
        CHECK(t.run_to_next() == 302ms);
        (void)t.take();
        t.run_for(100ms);
        t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460, .opts = sack(t, 4381, 5841)});
        CHECK(t.quiet());
        CHECK(t.run_to_next() == 1302ms); // the 1 s RTO armed by the probe
        CHECK(t.out() == "1302ms [.] seq 2921 ack 1 win 65535 len 1460");
        CHECK(t.counter("timeouts") == 1);
        CHECK(t.counter("recoveries") == 0);
    }
}
