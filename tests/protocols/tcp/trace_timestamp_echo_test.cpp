// Packet traces of the timestamp echo (TSecr), a number the peer sends back to us: it should
// be one of our own TSvals (RFC 7323 §4.3). One from the future or from before the connection
// began is ignored for RTT measurement (RFC 7323 §4.1) and counted; the ACK it rides on is
// otherwise taken. (With timestamps no segment is timed otherwise: that ACK gives no sample.)
// Taken as a sample, an echo 2^31 - 1 ms old made SRTT weeks long and the RTO its 120 s cap.
// PAWS (RFC 7323 §5.3, a TSval older than TS.Recent) has its trace in trace_established_test.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace ESTABLISHED with timestamps: an ACK whose TSecr we never sent is taken "
          "without its RTT, counted, and the connection goes on",
          "[tcp][trace][timestamps][adversarial]") {
    trace t;
    t.peer_options.timestamps = tcp::timestamps{5000, 0};
    t.established(100ms); // SRTT 100 ms, RTTVAR 50 ms (RFC 6298 §2.2)
    REQUIRE(t.sock()->timestamps_enabled());
    t.write(100);
    const auto data = t.take();
    const std::uint32_t sent_ts = data.h.options.timestamps->value;
    CHECK(t.describe(data) == "0ms [P.] seq 1 ack 1 win 65535 len 100 <ts>");
    // 50 ms later the ACK echoes a TSval that is not ours.
    const std::uint32_t echo = GENERATE_COPY(sent_ts + 1000000,     // from the future
                                             sent_ts - 0x7fffffffu, // 24 days old
                                             sent_ts - 150);        // before our SYN
    CAPTURE(echo - sent_ts);
    t.run_for(50ms);
    tcp::options o;
    o.timestamps = tcp::timestamps{5001, echo};
    t.in({.flags = A, .seq = 1, .ack = 101, .opts = o});
    CHECK(t.counter("ts_echo_invalid") == 1);
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 101)); // the ACK itself counts
    // No sample: SRTT and the RTO (SRTT + 4 * RTTVAR) are the handshake's.
    CHECK(t.sock()->rtt().srtt() == 100ms);
    CHECK(t.sock()->rtt().rto() == 300ms);
    // More data goes, and a valid echo 20 ms later is a sample.
    t.write(10);
    const auto more = t.take();
    CHECK(t.describe(more) == "50ms [P.] seq 101 ack 1 win 65535 len 10 <ts>");
    t.run_for(20ms);
    o.timestamps = tcp::timestamps{5002, more.h.options.timestamps->value};
    t.in({.flags = A, .seq = 1, .ack = 111, .opts = o});
    CHECK(t.counter("ts_echo_invalid") == 1);
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 111));
    // 7/8 * 100 + 1/8 * 20
    CHECK(t.sock()->rtt().srtt() == std::chrono::microseconds(90000));
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED with timestamps: data whose TSecr is from the future is "
          "received and acknowledged, its echo counted",
          "[tcp][trace][timestamps][adversarial]") {
    trace t;
    t.peer_options.timestamps = tcp::timestamps{5000, 0};
    t.established();
    tcp::options o;
    o.timestamps = tcp::timestamps{5001, 0xdeadbeef};
    t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100, .opts = o});
    CHECK(t.counter("ts_echo_invalid") == 1);
    CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 101);
    t.run_for(40ms);
    const auto a = t.take();
    CHECK(t.describe(a) == "40ms [.] seq 1 ack 101 win 65535 len 0 <ts>");
    CHECK(a.h.options.timestamps->echo_reply == 5001); // TS.Recent was still updated
    CHECK(t.quiet());
}
