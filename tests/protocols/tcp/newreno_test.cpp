#include "protocols/tcp/newreno.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using coronet::time_point;
using coronet::tcp::newreno;
using coronet::tcp::newreno_options;

namespace {
const time_point t0{};

// Acknowledges `segments` segments of `mss` bytes one ACK each.
void ack_each(newreno& cc, int segments) {
    for (int i = 0; i < segments; ++i)
        cc.on_ack(cc.mss(), 100ms, t0);
}
} // namespace

TEST_CASE("the initial window is min(10*MSS, max(2*MSS, 14600)) (RFC 6928 §2)") {
    using coronet::tcp::initial_window;
    STATIC_REQUIRE(initial_window(1460) == 14600);
    STATIC_REQUIRE(initial_window(1000) == 10000);
    STATIC_REQUIRE(initial_window(536) == 5360);
    STATIC_REQUIRE(initial_window(4000) == 14600);
    STATIC_REQUIRE(initial_window(9000) == 18000);
    CHECK(newreno(1460).cwnd() == 14600);
    CHECK(newreno(1460).in_slow_start());
}

TEST_CASE("slow start adds min(N, L*SMSS) per ACK: cwnd doubles per round trip") {
    newreno cc(1000);
    ack_each(cc, 10); // one window of ACKs
    CHECK(cc.cwnd() == 20000);
    ack_each(cc, 20);
    CHECK(cc.cwnd() == 40000);
    CHECK(cc.in_slow_start());
}

TEST_CASE("slow start counts bytes up to L = 2 SMSS per ACK (RFC 3465 §2.2)") {
    newreno cc(1000);
    cc.on_ack(500, 0ms, t0); // a partial segment counts its bytes
    CHECK(cc.cwnd() == 10500);
    cc.on_ack(5000, 0ms, t0); // a stretch ACK counts at most 2 SMSS
    CHECK(cc.cwnd() == 12500);
    newreno strict(1000, newreno_options{.abc_limit = 1}); // RFC 5681 eq. 2
    strict.on_ack(5000, 0ms, t0);
    CHECK(strict.cwnd() == 11000);
}

TEST_CASE("congestion avoidance adds one SMSS per cwnd of bytes acknowledged") {
    newreno cc(1000);
    ack_each(cc, 10);                  // cwnd 20000
    cc.on_congestion_event(20000, t0); // ssthresh = cwnd = 10000
    REQUIRE(cc.cwnd() == 10000);
    REQUIRE_FALSE(cc.in_slow_start());
    ack_each(cc, 9);
    CHECK(cc.cwnd() == 10000);
    CHECK(cc.bytes_acked() == 9000);
    ack_each(cc, 1);
    CHECK(cc.cwnd() == 11000);
    CHECK(cc.bytes_acked() == 0);
    ack_each(cc, 10);
    CHECK(cc.cwnd() == 11000); // now 11 segments are needed
    ack_each(cc, 1);
    CHECK(cc.cwnd() == 12000);
    // A stretch ACK of many windows still adds one SMSS (RFC 3465 §2.1).
    cc.on_ack(100000, 0ms, t0);
    CHECK(cc.cwnd() == 13000);
    CHECK(cc.bytes_acked() <= cc.cwnd());
}

TEST_CASE("a loss sets ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 §3.2 eq. 4)") {
    newreno cc(1000);
    ack_each(cc, 90); // 100000
    cc.on_congestion_event(100000, t0);
    CHECK(cc.ssthresh() == 50000);
    CHECK(cc.cwnd() == 50000);
    // FlightSize, not cwnd: an application-limited sender had little in flight.
    cc.on_congestion_event(3000, t0);
    CHECK(cc.ssthresh() == 2000);
    CHECK(cc.cwnd() == 2000);
}

TEST_CASE("a retransmission timeout sets cwnd to one SMSS and slow-starts again") {
    newreno cc(1000);
    ack_each(cc, 30); // 40000
    cc.on_rto_timeout(40000, t0);
    CHECK(cc.ssthresh() == 20000);
    CHECK(cc.cwnd() == 1000);
    CHECK(cc.in_slow_start());
    ack_each(cc, 1);
    CHECK(cc.cwnd() == 2000);
    ack_each(cc, 18);
    CHECK(cc.cwnd() == 20000); // reached ssthresh
    CHECK_FALSE(cc.in_slow_start());
    ack_each(cc, 1);
    CHECK(cc.cwnd() == 20000); // linear from here
}

TEST_CASE("Reno fast recovery inflates and deflates cwnd (RFC 5681 §3.2, RFC 6582 §3.2)") {
    newreno cc(1000);
    ack_each(cc, 10); // 20000
    cc.enter_fast_recovery(20000, t0);
    CHECK(cc.ssthresh() == 10000);
    CHECK(cc.cwnd() == 13000); // ssthresh + 3*SMSS
    cc.on_duplicate_ack();
    cc.on_duplicate_ack();
    CHECK(cc.cwnd() == 15000);
    cc.on_partial_ack(3000); // deflate by 3000, add back one SMSS
    CHECK(cc.cwnd() == 13000);
    cc.on_partial_ack(500); // less than an SMSS: nothing added back
    CHECK(cc.cwnd() == 12500);
    cc.on_partial_ack(100000); // never below one SMSS
    CHECK(cc.cwnd() == 1000);

    SECTION("a full ACK with much in flight deflates to ssthresh") {
        cc.on_recovery_exit(20000, t0);
        CHECK(cc.cwnd() == 10000);
    }
    SECTION("a full ACK with little in flight avoids a burst") {
        cc.on_recovery_exit(4000, t0); // min(ssthresh, max(FlightSize, SMSS) + SMSS)
        CHECK(cc.cwnd() == 5000);
    }
    SECTION("nothing in flight") {
        cc.on_recovery_exit(0, t0);
        CHECK(cc.cwnd() == 2000);
    }
}

TEST_CASE("cwnd saturates instead of overflowing") {
    newreno cc(65000);
    for (int i = 0; i < 100000; ++i)
        cc.on_ack(130000, 0ms, t0);
    CHECK(cc.cwnd() == coronet::tcp::congestion_control::max_window);
}
