// Packet traces of TIME-WAIT (RFC 9293 §3.10.7.4) and its reuse by a new SYN (RFC 6191,
// RFC 9293 §3.6.1, as Linux's tcp_timewait_state_process): the connection closed by us at
// 0 ms, our FIN at 1 and the peer's at 1.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace TIME-WAIT: a repeated FIN is acknowledged and restarts the 2 MSL",
          "[tcp][trace][time_wait][timers]") {
    trace t;
    t.time_wait();
    REQUIRE(t.state() == tcp::state::time_wait);
    t.run_for(30s);
    t.in({.flags = F | A, .seq = 1, .ack = 2}); // our last ACK was lost
    CHECK(t.out() == "30000ms [.] seq 2 ack 2 win 65535 len 0");
    t.run_for(60s - 1ms);
    CHECK(t.state() == tcp::state::time_wait);
    t.run_for(1ms);
    CHECK(t.sock() == nullptr);
    CHECK(t.quiet());
}

TEST_CASE("tcp trace TIME-WAIT: other segments", "[tcp][trace][time_wait]") {
    trace t;
    t.time_wait();
    SECTION("an ACK in the window: nothing") {
        t.in({.flags = A, .seq = 2, .ack = 2});
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("data: an ACK, the data not taken") {
        t.in({.flags = P | A, .seq = 2, .ack = 2, .len = 20});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("RST at RCV.NXT: CLOSED (RFC 9293; RFC 1337 is not applied, as Linux by default)") {
        t.in({.flags = R, .seq = 2});
        CHECK(t.sock() == nullptr);
    }
    SECTION("RST in the window: challenge ACK") {
        t.in({.flags = R, .seq = 100});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("a SYN with no listener behind the port: challenge ACK, TIME-WAIT stays") {
        t.in({.flags = S, .seq = 1000, .opts = trace::mss(1460)});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
        CHECK(t.counter("timewait_reused") == 0);
    }
    CHECK(t.quiet());
}

namespace {

// A new SYN from the same peer port to a TIME-WAIT left by a passive open, the listener still
// there: true when it made a new connection (our SYN-ACK out).
bool reuse(trace& t, std::uint32_t seq, std::optional<std::uint32_t> tsval) {
    tcp::options o = trace::mss(1460);
    if (tsval) o.timestamps = tcp::timestamps{*tsval, 0};
    t.in({.flags = S, .seq = seq, .opts = o});
    if (t.sent.empty()) return false;
    return tcp::has(t.sent.front().h.flags, S | A);
}

} // namespace

TEST_CASE("tcp trace TIME-WAIT reuse without timestamps: a SYN above RCV.NXT opens a new "
          "connection, one at or below is answered with an ACK", "[tcp][trace][time_wait]") {
    trace t;
    t.time_wait(true);
    REQUIRE(t.state() == tcp::state::time_wait);
    const std::uint32_t old_snd_max = t.iss + 2;
    t.run_for(1s);
    SECTION("above") {
        CHECK(reuse(t, 100000, std::nullopt));
        auto synack = t.take();
        CHECK(synack.h.acknowledgment == peer_isn + 100001);
        // The new ISS lies beyond everything the old connection sent (RFC 6191 §2: old
        // duplicates cannot fall into the new sequence space).
        CHECK(tcp::seq32(synack.h.sequence) > tcp::seq32(old_snd_max));
        CHECK(t.counter("timewait_reused") == 1);
        CHECK(t.state() == tcp::state::syn_received);
    }
    SECTION("the old ISN again (an old duplicate): an ACK, TIME-WAIT stays") {
        CHECK_FALSE(reuse(t, 0, std::nullopt));
        CHECK(t.out() == "1000ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace TIME-WAIT reuse with timestamps: a newer TSval opens a new connection "
          "whatever its sequence number; an older one is refused by PAWS",
          "[tcp][trace][time_wait]") {
    trace t;
    t.peer_options.timestamps = tcp::timestamps{5000, 0};
    t.time_wait(true);
    REQUIRE(t.state() == tcp::state::time_wait);
    REQUIRE(t.sock()->timestamps_enabled());
    SECTION("newer TSval, lower sequence number (RFC 6191 §2)") {
        CHECK(reuse(t, 0, 6000));
        (void)t.take();
        CHECK(t.counter("timewait_reused") == 1);
    }
    SECTION("older TSval, higher sequence number: an ACK (RFC 7323 §5.3)") {
        CHECK_FALSE(reuse(t, 100000, 4000));
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0 <ts>");
        CHECK(t.counter("paws_rejected") == 1);
        CHECK(t.state() == tcp::state::time_wait);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace TIME-WAIT reuse: the new ISS lies beyond the old connection's sequence "
          "space even when it sent faster than the ISN clock ticks", "[tcp][trace][time_wait]") {
    trace t;
    t.established_passive();
    // 200,000 bytes acknowledged as they leave, all in one instant: the ISN clock (RFC 6528,
    // one tick per 4 us) moves 25,000 in the 100 ms before the new SYN, far less.
    t.write(200000);
    std::uint32_t acked = 1;
    while (!t.sent.empty()) {
        while (!t.sent.empty()) {
            auto s = t.take();
            acked = std::max(acked, s.h.sequence - t.iss + s.h.payload_length);
        }
        t.in({.flags = A, .seq = 1, .ack = acked});
    }
    REQUIRE(acked == 200001);
    t.shutdown_write();
    CHECK(t.out() == "0ms [F.] seq 200001 ack 1 win 65535 len 0");
    t.in({.flags = F | A, .seq = 1, .ack = 200002});
    CHECK(t.out() == "0ms [.] seq 200002 ack 2 win 65535 len 0");
    REQUIRE(t.state() == tcp::state::time_wait);
    t.run_for(100ms);
    CHECK(reuse(t, 1000, std::nullopt));
    auto synack = t.take();
    // Linux's rule: the old SND.NXT plus a maximum unscaled window and 2.
    CHECK(synack.h.sequence - t.iss == 200002 + 65535 + 2);
    CHECK(t.quiet());
}
