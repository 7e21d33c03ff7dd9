// The connection's timers at exact virtual times, as packet traces: retransmission back-off
// (RFC 6298) with Karn's rule, the delayed ACK (RFC 9293 §3.8.6.3), keepalive (§3.8.4), zero-
// window probes (§3.8.6.1) and the user timeout (§3.8.3). TIME-WAIT's length and the SYN's
// back-off have their own tests (trace_time_wait_test, handshake_test).
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// ESTABLISHED after a handshake that took `rtt`: SRTT = rtt, RTTVAR = rtt / 2 (RFC 6298 §2.2).
void established_after(trace& t, duration rtt) {
    t.syn_sent();
    t.run_for(rtt);
    t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = trace::mss(1460)});
    (void)t.take();
    t.restart_clock();
}

} // namespace

TEST_CASE("tcp timers: RTO = SRTT + 4 RTTVAR, doubling on each expiry up to max_rto, then "
          "ETIMEDOUT after `retries`",
          "[tcp][trace][timers][rto]") {
    tcp::config c = trace_config();
    c.rtt.max_rto = 8s;
    c.retries = 6;
    trace t(c);
    established_after(t, 100ms); // RTO = 100 + 4 * 50 = 300 ms
    t.write(100);
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 100");
    t.read();
    t.run_while_open();
    const std::string trace_text = t.out_all();
    CHECK(trace_text == "300ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "900ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "2100ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "4500ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "9300ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "17300ms [P.] seq 1 ack 1 win 65535 len 100\n"); // 8 s: the cap
    CHECK(t.clock.now() - t.zero == 25300ms); // the seventh expiry gives up, sending nothing
    CHECK(t.read_result == -ETIMEDOUT);
    CHECK(t.counter("timeouts") == 7);
    CHECK(t.counter("retrans_segs") == 6);
}

TEST_CASE("tcp timers: Karn's rule: the ACK of a retransmission gives no RTT sample, the "
          "backed-off RTO stays until a new segment is timed",
          "[tcp][trace][timers][rto]") {
    trace t;
    established_after(t, 100ms); // RTO 300 ms
    t.write(100);
    (void)t.take();
    CHECK(t.run_to_next() == 300ms);
    CHECK(t.out() == "300ms [P.] seq 1 ack 1 win 65535 len 100");
    t.run_for(50ms);
    t.in({.flags = A, .seq = 1, .ack = 101}); // the original's or the copy's? Unknown: no sample
    CHECK(t.sock()->rtt().srtt() == 100ms);
    t.write(100);
    CHECK(t.out() == "350ms [P.] seq 101 ack 1 win 65535 len 100");
    CHECK(t.run_to_next() == 950ms); // 600 ms: still backed off (RFC 6298 §5.7)
    CHECK(t.out() == "950ms [P.] seq 101 ack 1 win 65535 len 100");
    // A segment sent once and acknowledged: a sample; RTO from it, the back-off gone.
    t.in({.flags = A, .seq = 1, .ack = 201});
    t.write(100);
    CHECK(t.out() == "950ms [P.] seq 201 ack 1 win 65535 len 100");
    t.run_for(20ms);
    t.in({.flags = A, .seq = 1, .ack = 301});
    CHECK(t.sock()->rtt().srtt() == (7 * 100ms + 20ms) / 8);
    CHECK(t.sock()->rtt().backoffs() == 0);
    CHECK(t.quiet());
}

TEST_CASE("tcp timers: the delayed ACK waits config.delayed_ack", "[tcp][trace][timers]") {
    tcp::config c = trace_config();
    c.delayed_ack = 100ms;
    trace t(c);
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .len = 10});
    t.run_for(60ms);
    t.in({.flags = A, .seq = 11, .ack = 1, .len = 10}); // does not restart the timer
    CHECK(t.run_to_next() == 100ms);
    CHECK(t.out() == "100ms [.] seq 1 ack 21 win 65535 len 0");
    CHECK(t.quiet());
}

TEST_CASE("tcp timers: keepalive probes after idle, every interval; count unanswered probes "
          "fail the connection with ETIMEDOUT",
          "[tcp][trace][timers][keepalive]") {
    trace t;
    t.established();
    t.option(socket_option::keep_idle, 10);
    t.option(socket_option::keep_interval, 2);
    t.option(socket_option::keep_count, 3);
    t.option(socket_option::keep_alive, 1);
    t.read();
    SECTION("unanswered") {
        t.run_while_open();
        const std::string trace_text = t.out_all();
        // <SEQ=SND.NXT-1> with no data: the peer must answer with an ACK (RFC 1122 §4.2.3.6).
        CHECK(trace_text == "10000ms [.] seq 0 ack 1 win 65535 len 0\n"
                            "12000ms [.] seq 0 ack 1 win 65535 len 0\n"
                            "14000ms [.] seq 0 ack 1 win 65535 len 0\n"
                            "16000ms [R.] seq 1 ack 1 win 65535 len 0\n");
        CHECK(t.read_result == -ETIMEDOUT);
        CHECK(t.counter("keepalive_probes") == 3);
    }
    SECTION("with data unacknowledged no probe goes out: retransmissions watch the peer") {
        t.run_for(9s);
        t.write(100);
        t.run_for(30s);
        const std::string trace_text = t.out_all();
        CHECK(trace_text.find("len 0") == std::string::npos); // every segment carries the data
        CHECK(t.counter("keepalive_probes") == 0);
        CHECK(t.counter("retrans_segs") > 0);
    }
    SECTION("answered: the next probe comes after a full idle time again") {
        CHECK(t.run_to_next() == 10s);
        CHECK(t.out() == "10000ms [.] seq 0 ack 1 win 65535 len 0");
        t.run_for(5ms);
        t.in({.flags = A, .seq = 1, .ack = 1});
        CHECK(t.run_to_next() == 20005ms);
        CHECK(t.out() == "20005ms [.] seq 0 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::established);
    }
}

TEST_CASE("tcp timers: a zero window is probed with one byte, the persist timer backing off; "
          "the window reopening sends the data",
          "[tcp][trace][timers][persist]") {
    trace t;
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.write(3000);
    CHECK(t.quiet());
    std::string probes;
    for (int i = 0; i < 4; ++i) {
        t.run_to_next();
        probes += t.out_all();
        t.in({.flags = A, .seq = 1, .ack = 1, .win = 0}); // the probe refused
    }
    // RTO 200 ms, then doubling (RFC 1122 §4.2.2.17: exponential back-off).
    CHECK(probes == "200ms [.] seq 1 ack 1 win 65535 len 1\n"
                    "600ms [.] seq 1 ack 1 win 65535 len 1\n"
                    "1400ms [.] seq 1 ack 1 win 65535 len 1\n"
                    "3000ms [.] seq 1 ack 1 win 65535 len 1\n");
    CHECK(t.counter("window_probes") == 4);
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 65535}); // the window opens
    CHECK(t.out_all() == "3100ms [.] seq 1 ack 1 win 65535 len 1460\n"
                         "3100ms [P.] seq 1461 ack 1 win 65535 len 1460\n"); // a burst's last
    t.in({.flags = A, .seq = 1, .ack = 2921});
    CHECK(t.out() == "3100ms [P.] seq 2921 ack 1 win 65535 len 80");
    t.in({.flags = A, .seq = 1, .ack = 3001});
    t.run_for(60s);
    CHECK(t.quiet());
    CHECK(t.counter("timeouts") == 0); // no hole left for the retransmission timer
}

TEST_CASE("tcp timers: TCP_USER_TIMEOUT fails a connection whose data stays unacknowledged "
          "at exactly the timeout",
          "[tcp][trace][timers][user_timeout]") {
    trace t;
    t.established();
    t.option(socket_option::user_timeout, 5000);
    t.read();
    t.run_for(1s);
    t.write(100);
    t.run_while_open();
    const std::string trace_text = t.out_all();
    CHECK(trace_text == "1000ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "1200ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "1600ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "2400ms [P.] seq 1 ack 1 win 65535 len 100\n"
                        "4000ms [P.] seq 1 ack 1 win 65535 len 100\n");
    CHECK(t.clock.now() - t.zero == 6s); // 5 s after the data was first sent
    CHECK(t.read_result == -ETIMEDOUT);
}

TEST_CASE("tcp timers: after a retransmitted SYN (no RTT sample, Karn) data starts with an RTO "
          "of 3 s (RFC 6298 §5.7)",
          "[tcp][trace][timers][rto]") {
    trace t;
    SECTION("active open: our SYN retransmitted") {
        t.syn_sent();
        CHECK(t.run_to_next() == 1s);
        CHECK(t.out() == "1000ms [S] seq 0 win 65535 len 0 <mss 1460,ws 7,sackOK,ts>");
        t.run_for(500ms);
        t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = trace::mss(1460)});
        CHECK(t.out() == "1500ms [.] seq 1 ack 1 win 65535 len 0");
    }
    SECTION("passive open: our SYN-ACK retransmitted") {
        t.syn_received();
        CHECK(t.run_to_next() == 1s);
        CHECK(t.out() == "1000ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
        t.run_for(500ms);
        t.in({.flags = A, .seq = 1, .ack = 1});
        t.app->spawn(
            [&t]() -> task<void> { t.conn = (co_await t.app->accept(t.listener)).value(); });
        t.settle();
    }
    REQUIRE(t.state() == tcp::state::established);
    t.write(100);
    CHECK(t.out() == "1500ms [P.] seq 1 ack 1 win 65535 len 100");
    CHECK(t.run_to_next() == 4500ms);
    CHECK(t.out() == "4500ms [P.] seq 1 ack 1 win 65535 len 100");
    CHECK(t.run_to_next() == 10500ms);
    CHECK(t.out() == "10500ms [P.] seq 1 ack 1 win 65535 len 100");
}

TEST_CASE("tcp timers: a passive open measures the RTT of its SYN-ACK: the first data's RTO is "
          "SRTT + 4 RTTVAR, not the initial 1 s",
          "[tcp][trace][timers][rto]") {
    trace t;
    t.syn_received();
    t.run_for(100ms); // the peer's ACK of our SYN-ACK comes 100 ms later
    t.in({.flags = A, .seq = 1, .ack = 1});
    t.app->spawn([&t]() -> task<void> { t.conn = (co_await t.app->accept(t.listener)).value(); });
    t.settle();
    t.restart_clock();
    t.write(100);
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 100");
    (void)t.run_to_next();
    CHECK(t.out() == "300ms [P.] seq 1 ack 1 win 65535 len 100"); // 100 + 4 * 50 ms
}

TEST_CASE("tcp timers: a retransmitted SYN-ACK gives no RTT sample (Karn): the first data's RTO "
          "is the initial one",
          "[tcp][trace][timers][rto]") {
    trace t;
    t.syn_received();
    (void)t.run_to_next(); // the SYN-ACK again, after the initial RTO
    CHECK(t.out() == "1000ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
    t.run_for(100ms);
    t.in({.flags = A, .seq = 1, .ack = 1});
    t.app->spawn([&t]() -> task<void> { t.conn = (co_await t.app->accept(t.listener)).value(); });
    t.settle();
    t.restart_clock();
    t.write(100);
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 100");
    (void)t.run_to_next();
    // RFC 6298 §5 (7): after a retransmitted SYN-ACK, RTO is 3 s once data is sent.
    const auto again = t.out();
    CHECK(again != "300ms [P.] seq 1 ack 1 win 65535 len 100");
    CHECK(again.ends_with("[P.] seq 1 ack 1 win 65535 len 100"));
}
