#include "protocols/tcp/cubic.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace std::chrono_literals;
using coronet::duration;
using coronet::time_point;
using coronet::tcp::cubic;
using coronet::tcp::cubic_options;

namespace {
constexpr std::uint32_t mss = 1000;
const time_point t0{10s};

// Slow start from the initial window (10 segments) to `segments` segments, 2 SMSS per ACK.
void grow_to(cubic& cc, std::uint32_t segments) {
    while (cc.cwnd() < segments * mss)
        cc.on_ack(2 * mss, 0ms, t0);
    REQUIRE(cc.cwnd() == segments * mss);
}

// C * (t - K)^3 + W_max, written out again for the checks.
double formula(double t, double w_max, double beta = 0.7, double c = 0.4) {
    const double k = std::cbrt(w_max * (1 - beta) / c);
    return c * std::pow(t - k, 3) + w_max;
}

// An ACK clock: one window of ACKs per RTT, in `steps` ACKs, from `from` to `to`.
void run(cubic& cc, time_point from, time_point to, duration rtt, int steps = 10) {
    for (time_point t = from; t < to; t = t + rtt / steps)
        cc.on_ack(std::max(cc.cwnd() / steps, std::uint32_t{1}), rtt, t);
}
} // namespace

TEST_CASE("CUBIC slow-starts like Reno") {
    cubic cc(mss);
    CHECK(cc.cwnd() == 10000);
    for (int i = 0; i < 10; ++i)
        cc.on_ack(mss, 100ms, t0);
    CHECK(cc.cwnd() == 20000);
    CHECK(cc.in_slow_start());
}

TEST_CASE("a loss sets ssthresh = flight_size * 0.7 and W_max = cwnd (RFC 9438 §4.6)") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_congestion_event(100000, t0);
    CHECK(cc.ssthresh() == 70000);
    CHECK(cc.cwnd() == 70000);
    CHECK(cc.w_max() == Approx(100.0));
    CHECK_FALSE(cc.in_slow_start());
    // At least 2 segments.
    cc.on_congestion_event(2000, t0);
    CHECK(cc.ssthresh() == 2000);
    CHECK(cc.cwnd() == 2000);
}

TEST_CASE("K = cbrt(W_max * (1 - beta) / C) and the epoch starts at the first ACK after it") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_congestion_event(100000, t0);
    CHECK_FALSE(cc.epoch_start());
    cc.on_ack(mss, 0ms, t0 + 1s);
    REQUIRE(cc.epoch_start() == t0 + 1s);
    CHECK(cc.k() == Approx(std::cbrt(75.0)));   // 100 * 0.3 / 0.4
    CHECK(cc.w_cubic(0) == Approx(70.0));       // the curve starts at cwnd_epoch
    CHECK(cc.w_cubic(cc.k()) == Approx(100.0)); // and plateaus at W_max
    CHECK(cc.w_cubic(2.0) == Approx(formula(2.0, 100)));
}

TEST_CASE("one ACK in the concave region moves cwnd by (target - cwnd) / cwnd") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_congestion_event(100000, t0);
    cc.on_ack(mss, 0ms, t0); // epoch start: t = 0, target = cwnd; Reno-friendly step
    const double alpha = 3 * (1 - 0.7) / (1 + 0.7);
    const double w_est = 70.0 + alpha * 1 / 70.0;
    CHECK(cc.w_est() == Approx(w_est));
    CHECK(cc.cwnd() == static_cast<std::uint32_t>(w_est * mss)); // 70007
    const double cwnd = w_est;

    // Two seconds later with an RTT of 100 ms: target = W_cubic(2.1), one segment acked.
    cc.on_ack(mss, 100ms, t0 + 2s);
    const double target = formula(2.1, 100);
    REQUIRE(target < 1.5 * cwnd);
    const double expected = cwnd + (target - cwnd) / cwnd;
    CHECK(cc.cwnd() == static_cast<std::uint32_t>(expected * mss));
    CHECK(cc.w_est() < formula(2.0, 100)); // so not the Reno-friendly region
}

TEST_CASE("the target is clamped to 1.5 * cwnd") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_congestion_event(100000, t0);
    cc.on_ack(mss, 0ms, t0);
    const double cwnd = cc.cwnd() / double{mss};
    // 20 s later W_cubic is far above: growth per segment acked is capped at 0.5/cwnd * cwnd.
    cc.on_ack(70 * mss, 0ms, t0 + 20s);
    CHECK(cc.cwnd() / double{mss} == Approx(cwnd + (1.5 * cwnd - cwnd) / cwnd * 70).epsilon(1e-4));
}

TEST_CASE("under a steady ACK clock cwnd follows W_cubic: concave, plateau, convex") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_congestion_event(100000, t0);
    const duration rtt = 200ms; // long enough for the curve to beat Reno's line
    time_point t = t0;
    const double k = std::cbrt(75.0);
    // Starting from t0, at whole seconds up to 7 s after the loss.
    for (double at : {1.0, 2.0, 3.0, k, 5.0, 6.0, 7.0}) {
        const time_point next =
            t0 + std::chrono::duration_cast<duration>(std::chrono::duration<double>(at));
        run(cc, t, next, rtt);
        t = next;
        const double w = cc.cwnd() / double{mss};
        INFO("t = " << at << " s, cwnd = " << w << ", W_cubic = " << formula(at, 100));
        CHECK(w == Approx(formula(at, 100)).margin(0.5));
    }
    CHECK(cc.cwnd() > 100 * mss); // past W_max: the convex region probes above it
}

TEST_CASE("fast convergence lowers W_max when losses come before the plateau (§4.7)") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_congestion_event(100000, t0);
    // Grow to 80 segments, below W_max = 100, then lose again.
    cc.on_ack(mss, 0ms, t0);
    while (cc.cwnd() < 80 * mss)
        cc.on_ack(mss, 0ms, t0 + 2s);
    const double cwnd = cc.cwnd() / double{mss};
    cc.on_congestion_event(cc.cwnd(), t0 + 3s);
    CHECK(cc.w_max() == Approx(cwnd * (1 + 0.7) / 2));
    CHECK(cc.ssthresh() == static_cast<std::uint32_t>(cwnd * mss * 0.7));

    cubic plain(mss, cubic_options{.fast_convergence = false});
    grow_to(plain, 100);
    plain.on_congestion_event(100000, t0);
    plain.on_ack(mss, 0ms, t0);
    while (plain.cwnd() < 80 * mss)
        plain.on_ack(mss, 0ms, t0 + 2s);
    const double plain_cwnd = plain.cwnd() / double{mss};
    plain.on_congestion_event(plain.cwnd(), t0 + 3s);
    CHECK(plain.w_max() == Approx(plain_cwnd));
}

TEST_CASE("with a short RTT and a small window CUBIC is Reno-friendly (§4.3)") {
    cubic cc(mss);
    grow_to(cc, 20);
    cc.on_congestion_event(20000, t0); // W_max 20, cwnd 14, K = cbrt(15) = 2.47 s
    const duration rtt = 1ms;
    run(cc, t0, t0 + 500ms, rtt);
    const double w = cc.cwnd() / double{mss};
    // 500 RTTs of Reno growth (about 0.53, then 1 segment per RTT) beat the curve, which
    // is still below W_max.
    CHECK(cc.w_est() > cc.w_cubic(0.5));
    CHECK(w == Approx(cc.w_est()).margin(0.01));
    CHECK(w > 100);
}

TEST_CASE("a timeout sets cwnd to one segment and restarts the curve at K = 0 (§4.8)") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.on_rto_timeout(100000, t0);
    CHECK(cc.ssthresh() == 70000);
    CHECK(cc.cwnd() == mss);
    CHECK(cc.in_slow_start());
    while (cc.in_slow_start())
        cc.on_ack(mss, 0ms, t0 + 1s);
    CHECK(cc.cwnd() == 70000);
    cc.on_ack(mss, 0ms, t0 + 2s);
    CHECK(cc.k() == 0);
    CHECK(cc.w_cubic(0) == Approx(70.0)); // from cwnd_epoch, not the old W_max
}

TEST_CASE("CUBIC shares Reno's recovery helpers") {
    cubic cc(mss);
    grow_to(cc, 100);
    cc.enter_fast_recovery(100000, t0);
    CHECK(cc.cwnd() == 73000);
    cc.on_duplicate_ack();
    CHECK(cc.cwnd() == 74000);
    cc.on_recovery_exit(100000, t0);
    CHECK(cc.cwnd() == 70000);
}
