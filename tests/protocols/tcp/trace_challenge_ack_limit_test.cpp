// RFC 5961 §7: challenge ACKs are rate-limited, per connection (config::challenge_ack_limit a
// second) and, when configured, host-wide with a random budget each second
// (config::host_challenge_ack_limit); the ones held back are counted.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// 2,000 in-window RSTs with a wrong sequence number, one every 0.5 ms: one second's worth.
void rst_flood(trace& t) {
    for (int i = 0; i < 2000; ++i) {
        t.in({.flags = R, .seq = 2000});
        t.run_for(500us);
    }
}

} // namespace

TEST_CASE("tcp challenge ACKs: at most challenge_ack_limit a second per connection, the rest "
          "counted as suppressed; the next second allows again", "[tcp][trace][rst]") {
    trace t;
    t.established();
    rst_flood(t);
    CHECK(t.clock.now() - t.zero == 1000ms);
    CHECK(t.counter("challenge_acks") == 1000);
    CHECK(t.counter("challenge_acks_suppressed") == 1000);
    CHECK(t.sent.size() == 1000);
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
    t.sent.clear();
    CHECK(t.state() == tcp::state::established);
    // A second after the first: a new second's budget.
    t.in({.flags = R, .seq = 2000});
    CHECK(t.out() == "1000ms [.] seq 1 ack 1 win 65535 len 0");
    CHECK(t.counter("challenge_acks") == 1001);
    // The limit covers every kind: a SYN's challenge ACK counts too (RFC 5961 §4.2).
    t.in({.flags = S, .seq = 500, .opts = trace::mss(1460)});
    CHECK(t.out() == "1000ms [.] seq 1 ack 1 win 65535 len 0");
    CHECK(t.counter("challenge_acks") == 1002);
}

TEST_CASE("tcp challenge ACKs: a limit of 0 is no limit", "[tcp][trace][rst]") {
    tcp::config c = trace_config();
    c.challenge_ack_limit = 0;
    trace t(c);
    t.established();
    rst_flood(t);
    CHECK(t.counter("challenge_acks") == 2000);
    CHECK(t.counter("challenge_acks_suppressed") == 0);
    CHECK(t.sent.size() == 2000);
}

TEST_CASE("tcp challenge ACKs: the host-wide limit draws a budget between limit/2 and 3*limit/2 "
          "each second", "[tcp][trace][rst]") {
    tcp::config c = trace_config();
    c.challenge_ack_limit = 0;
    c.host_challenge_ack_limit = 100;
    trace t(c);
    t.established();
    rst_flood(t);
    const auto sent = t.counter("challenge_acks");
    CHECK(sent >= 50);
    CHECK(sent < 150);
    CHECK(t.counter("challenge_acks_suppressed") == 2000 - sent);
    CHECK(t.sent.size() == sent);
    t.in({.flags = R, .seq = 2000});
    CHECK(t.counter("challenge_acks") == sent + 1);
}
