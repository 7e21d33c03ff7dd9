#include "protocols/tcp/rtt_estimator.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using coronet::duration;
using coronet::time_point;
using coronet::tcp::rtt_estimator;
using coronet::tcp::rtt_options;
using coronet::tcp::rtt_sampler;
using coronet::tcp::seq32;
using coronet::tcp::ts32;

TEST_CASE("before any sample RTO is 1 second (RFC 6298 §2.1)") {
    rtt_estimator e;
    CHECK(e.rto() == 1s);
    CHECK_FALSE(e.has_sample());
    CHECK_FALSE(e.srtt().has_value());
}

TEST_CASE("the first sample sets SRTT = R, RTTVAR = R/2 (RFC 6298 §2.2)") {
    rtt_estimator e;
    e.sample(100ms);
    CHECK(e.srtt() == 100ms);
    CHECK(e.rttvar() == 50ms);
    CHECK(e.rto() == 300ms); // 100 + max(1 ms, 4 * 50)
}

TEST_CASE("later samples update RTTVAR with the old SRTT, then SRTT (RFC 6298 §2.3)") {
    rtt_estimator e;
    e.sample(100ms);
    e.sample(200ms);
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
    CHECK(e.rttvar() == 62500us);
    CHECK(e.srtt() == 112500us);
    CHECK(e.rto() == 362500us); // 112.5 + 4 * 62.5
    e.sample(50ms);
    // RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5; SRTT = 7/8 * 112.5 + 1/8 * 50 = 104.6875
    CHECK(e.rttvar() == 62500us);
    CHECK(e.srtt() == 104687500ns);
    CHECK(e.rto() == 354687500ns);
}

TEST_CASE("a steady RTT converges: RTTVAR decays, RTO approaches SRTT + 4 RTTVAR") {
    rtt_estimator e;
    for (int i = 0; i < 100; ++i)
        e.sample(400ms);
    CHECK(e.srtt() == 400ms);
    CHECK(e.rttvar() < 1ms);
    CHECK(e.rto() >= 400ms + 1ms); // G at least
    CHECK(e.rto() < 405ms);
}

TEST_CASE("RTO is at least min_rto (200 ms by default)") {
    rtt_estimator e;
    e.sample(10ms); // 10 + 4 * 5 = 30 ms
    CHECK(e.rto() == 200ms);
}

TEST_CASE("the clock granularity G bounds K * RTTVAR from below") {
    rtt_estimator e(rtt_options{.min_rto = 0ms});
    e.sample(100us); // 4 * RTTVAR = 200 us < G = 1 ms
    CHECK(e.rto() == 1100us);
}

TEST_CASE("RTO is at most max_rto") {
    rtt_estimator e(rtt_options{.max_rto = 60s});
    e.sample(50s); // 50 + 100 s
    CHECK(e.rto() == 60s);
}

TEST_CASE("backoff doubles RTO up to max_rto (RFC 6298 §5.5), a sample ends it") {
    rtt_estimator e(rtt_options{.max_rto = 2s});
    e.sample(100ms); // 300 ms
    e.backoff();
    CHECK(e.rto() == 600ms);
    e.backoff();
    CHECK(e.rto() == 1200ms);
    e.backoff();
    CHECK(e.rto() == 2s);
    for (int i = 0; i < 100; ++i)
        e.backoff(); // no overflow however many
    CHECK(e.rto() == 2s);
    CHECK(e.backoffs() == 103);
    e.sample(100ms);
    CHECK(e.backoffs() == 0);
    CHECK(e.rto() < 600ms);
}

TEST_CASE("backoff applies to the initial RTO too") {
    rtt_estimator e;
    e.backoff();
    e.backoff();
    CHECK(e.rto() == 4s);
    e.reset_backoff();
    CHECK(e.rto() == 1s);
}

TEST_CASE("rtt_sampler measures one segment from send to the ACK covering it") {
    rtt_sampler s;
    const time_point t0{5s};
    s.on_send(seq32{1000}, seq32{2000}, t0);
    s.on_send(seq32{2000}, seq32{3000}, t0 + 1ms); // already timing: ignored
    CHECK_FALSE(s.on_ack(seq32{1999}, t0 + 10ms)); // does not cover the end
    CHECK(s.on_ack(seq32{2000}, t0 + 30ms) == 30ms);
    CHECK_FALSE(s.timing());
    CHECK_FALSE(s.on_ack(seq32{3000}, t0 + 40ms)); // one sample per timed segment
}

TEST_CASE("rtt_sampler follows Karn's rule: a retransmitted segment gives no sample") {
    rtt_sampler s;
    const time_point t0{1s};
    SECTION("retransmission over the timed bytes cancels") {
        s.on_send(seq32{1000}, seq32{2000}, t0);
        s.on_retransmit(seq32{1500}, seq32{1600});
        CHECK_FALSE(s.on_ack(seq32{2000}, t0 + 10ms));
    }
    SECTION("retransmission of other bytes does not") {
        s.on_send(seq32{1000}, seq32{2000}, t0);
        s.on_retransmit(seq32{0}, seq32{1000});
        s.on_retransmit(seq32{2000}, seq32{2500});
        CHECK(s.on_ack(seq32{2000}, t0 + 10ms) == 10ms);
    }
    SECTION("the retransmission timer cancels") {
        s.on_send(seq32{1000}, seq32{2000}, t0);
        s.cancel();
        CHECK_FALSE(s.on_ack(seq32{2000}, t0 + 10ms));
    }
    SECTION("across the sequence wrap") {
        s.on_send(seq32{0xffff'ff00u}, seq32{0x100}, t0);
        CHECK_FALSE(s.on_ack(seq32{0xffff'ffffu}, t0 + 1ms));
        s.on_retransmit(seq32{0x100}, seq32{0x200}); // just after: no overlap
        CHECK(s.on_ack(seq32{0x100}, t0 + 2ms) == 2ms);
    }
}

TEST_CASE("timestamp_rtt measures from the echoed TSval (RFC 7323 §4)") {
    using coronet::tcp::timestamp_rtt;
    CHECK(timestamp_rtt(ts32{1050}, ts32{1000}, 1ms, true) == 50ms);
    CHECK(timestamp_rtt(ts32{20}, ts32{0xffff'fff6u}, 1ms, true) == 30ms); // across the wrap
    CHECK_FALSE(timestamp_rtt(ts32{1050}, ts32{1000}, 1ms, false));        // no new data acked
    CHECK_FALSE(timestamp_rtt(ts32{1000}, ts32{1050}, 1ms, true));         // echo from the future
    CHECK(timestamp_rtt(ts32{7}, ts32{7}, 1ms, true) == 0ms);
}
