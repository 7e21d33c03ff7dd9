// Packet traces of quick-ack mode (Linux's tcp_incr_quickack): the first data of a
// connection, data after an idle gap longer than the RTO and a duplicate segment make the
// next ACKs go at once, half the receive window in segments (at least 2, at most
// config::quick_acks); then ACKs are delayed again (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// The trace fixture's configuration with quick-ack mode as by default.
tcp::config quick_config() {
    tcp::config c = trace_config();
    c.quick_acks = tcp::config{}.quick_acks;
    return c;
}

// Small segments, one every 5 ms, that the application does not read (the window shrinks):
// each ACKed at once in quick-ack mode, else the delayed ACK covers the rest (none reaches two
// full segments).
std::string small_segments(trace& t, std::uint32_t& seq, int count) {
    std::string acks;
    for (int i = 0; i < count; ++i) {
        t.in({.flags = P | A, .seq = seq, .ack = 1, .len = 100});
        seq += 100;
        while (!t.quiet())
            acks += t.out() + "\n";
        t.run_for(5ms);
    }
    return acks;
}

} // namespace

TEST_CASE("tcp trace quick-ack: a connection's first 16 data segments are ACKed at once, the "
          "17th waits the delayed-ACK time",
          "[tcp][trace][quick_ack]") {
    trace t(quick_config()); // window 65535, MSS 1460: 65535 / 2920 = 22 segments, capped at 16
    t.established();
    std::uint32_t seq = 1;
    std::string expect;
    for (int i = 0; i < 16; ++i)
        expect += std::to_string(5 * i) + "ms [.] seq 1 ack " + std::to_string(101 + 100 * i) +
                  " win 65535 len 0\n";
    CHECK(small_segments(t, seq, 16) == expect);
    CHECK(t.counter("delayed_acks") == 0);
    t.in({.flags = P | A, .seq = seq, .ack = 1, .len = 100});
    t.run_for(39ms);
    CHECK(t.quiet());
    t.run_for(1ms);
    CHECK(t.out() == "120ms [.] seq 1 ack 1701 win 65535 len 0");
    CHECK(t.counter("delayed_acks") == 1);
    CHECK(t.quiet());
}

TEST_CASE("tcp trace quick-ack: a smaller receive window gives fewer quick ACKs, at least 2",
          "[tcp][trace][quick_ack]") {
    tcp::config c = quick_config();
    std::string expect;
    SECTION("10000 bytes: 10000 / 2920, 3 segments") {
        c.receive_buffer = 10000;
        expect = "0ms [.] seq 1 ack 101 win 9900 len 0\n"
                 "5ms [.] seq 1 ack 201 win 9800 len 0\n"
                 "10ms [.] seq 1 ack 301 win 9700 len 0\n"
                 "55ms [.] seq 1 ack 401 win 9600 len 0\n";
    }
    SECTION("2048 bytes: less than one segment, so the floor of 2") {
        c.receive_buffer = 2048;
        expect = "0ms [.] seq 1 ack 101 win 1948 len 0\n"
                 "5ms [.] seq 1 ack 201 win 1848 len 0\n"
                 "50ms [.] seq 1 ack 401 win 1648 len 0\n"; // one delayed ACK for both
    }
    trace t(c);
    t.established();
    std::uint32_t seq = 1;
    std::string acks = small_segments(t, seq, 4);
    t.run_for(40ms);
    while (!t.quiet())
        acks += t.out() + "\n";
    CHECK(acks == expect);
}

TEST_CASE("tcp trace quick-ack: after an idle gap longer than the RTO, ACKs go at once again",
          "[tcp][trace][quick_ack]") {
    trace t(quick_config());
    t.established();
    std::uint32_t seq = 1;
    (void)small_segments(t, seq, 17); // quick-ack mode used up
    t.run_for(40ms);
    (void)t.out(); // the 17th segment's delayed ACK
    const auto before = t.counter("delayed_acks");
    t.restart_clock();
    t.run_for(1100ms); // the RTO is 1 s without an RTT sample (RFC 6298 §2.1)
    t.in({.flags = P | A, .seq = seq, .ack = 1, .len = 100});
    CHECK(t.out() == "1100ms [.] seq 1 ack 1801 win 65535 len 0");
    CHECK(t.counter("delayed_acks") == before);
    CHECK(t.quiet());
}

TEST_CASE("tcp trace quick-ack: a duplicate segment (our ACK was lost) restarts quick-ack mode",
          "[tcp][trace][quick_ack]") {
    trace t(quick_config());
    t.established();
    std::uint32_t seq = 1;
    (void)small_segments(t, seq, 17);
    t.run_for(40ms);
    (void)t.out();
    t.restart_clock();
    t.in({.flags = P | A, .seq = seq - 100, .ack = 1, .len = 100}); // the 17th again
    CHECK(t.out() == "0ms [.] seq 1 ack 1701 win 65535 len 0");
    t.in({.flags = P | A, .seq = seq, .ack = 1, .len = 100});
    CHECK(t.out() == "0ms [.] seq 1 ack 1801 win 65535 len 0");
    CHECK(t.quiet());
}

TEST_CASE("tcp trace quick-ack: config::quick_acks = 0 delays the first ACK as RFC 9293 allows",
          "[tcp][trace][quick_ack]") {
    tcp::config c = trace_config();
    c.quick_acks = 0;
    trace t(c);
    t.established();
    t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
    t.run_for(39ms);
    CHECK(t.quiet());
    t.run_for(1ms);
    CHECK(t.out() == "40ms [.] seq 1 ack 101 win 65535 len 0");
}
