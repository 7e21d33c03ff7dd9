// Packet traces of the peer's window scale, a shift count a remote host picks in its SYN.
// RFC 7323 §2.3 has the receiver of a shift above 14 use 14; taken as it came, 15 doubled
// every window the peer advertised, and 32 or more was an undefined shift of a 32-bit value.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

tcp::options scaled(std::uint8_t shift) {
    tcp::options o;
    o.mss = 1460;
    o.window_scale = shift;
    return o;
}

// The payload bytes of every segment sent since the last look.
std::size_t bytes_sent(trace& t) {
    std::size_t n = 0;
    while (!t.quiet())
        n += t.take().h.payload_length;
    return n;
}

// 40,000 bytes written with Nagle off: the first flight is the initial window (10 * 1460);
// the peer acknowledges it with a window field of 1, which a shift of 14 makes 16,384 bytes.
// The second flight is what that window lets go (cwnd, 29,200 by then, is larger): eleven
// full segments, the 324 bytes left of it held back by sender SWS avoidance (RFC 9293
// §3.8.6.2.1) while more data waits. A shift of 15 would have let all 25,400 go. The
// connection goes on to the end once the peer opens its window.
void second_flight_is_one_unit_of_2_14(trace& t) {
    t.option(socket_option::no_delay, 1);
    t.write(40000);
    REQUIRE(bytes_sent(t) == 14600);
    t.in({.flags = A, .seq = 1, .ack = 14601, .win = 1});
    CHECK(t.sock()->snd_wnd() == 16384);
    CHECK(bytes_sent(t) == 11 * 1460);
    t.in({.flags = A, .seq = 1, .ack = 1 + 14600 + 16060, .win = 4});
    CHECK(bytes_sent(t) == 40000 - 14600 - 16060);
    t.in({.flags = A, .seq = 1, .ack = 40001, .win = 4});
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 40001));
}

} // namespace

TEST_CASE("tcp trace LISTEN: a SYN's window scale above 14 is taken as 14, counted, and the "
          "connection carries data",
          "[tcp][trace][wscale][adversarial]") {
    const std::uint8_t offered = GENERATE(std::uint8_t{15}, std::uint8_t{32}, std::uint8_t{255});
    CAPTURE(offered);
    trace t;
    t.peer_options = scaled(offered);
    t.syn_received();
    CHECK(t.counter("peer_wscale_clamped") == 1);
    t.in({.flags = A, .seq = 1, .ack = 1});
    t.app->spawn([&t]() -> task<void> { t.conn = (co_await t.app->accept(t.listener)).value(); });
    t.settle();
    REQUIRE(t.state() == tcp::state::established);
    CHECK(t.sock()->send_scale() == 14);
    second_flight_is_one_unit_of_2_14(t);
}

TEST_CASE("tcp trace SYN-SENT: a SYN-ACK's window scale above 14 is taken as 14 and counted",
          "[tcp][trace][wscale][adversarial]") {
    trace t;
    t.peer_options = scaled(15);
    t.established();
    REQUIRE(t.state() == tcp::state::established);
    CHECK(t.counter("peer_wscale_clamped") == 1);
    CHECK(t.sock()->send_scale() == 14);
    second_flight_is_one_unit_of_2_14(t);
}

TEST_CASE("tcp trace LISTEN: a window scale of 14 is taken as it is", "[tcp][trace][wscale]") {
    trace t;
    t.peer_options = scaled(14);
    t.established_passive();
    CHECK(t.counter("peer_wscale_clamped") == 0);
    CHECK(t.sock()->send_scale() == 14);
    second_flight_is_one_unit_of_2_14(t);
}

TEST_CASE("tcp trace LISTEN with SYN cookies: a SYN's window scale of 255 is not used at all",
          "[tcp][trace][wscale][syncookie][adversarial]") {
    // A cookie keeps only the MSS (syn_cookie.hpp): its SYN-ACK offers no scaling, so the
    // peer's shift never applies (RFC 7323 §2.2) and there is nothing to clamp.
    auto c = trace_config();
    c.max_syn_backlog = 0;
    trace t(c);
    t.peer_options = scaled(255);
    t.listen();
    t.in({.flags = S, .seq = 0, .opts = t.peer_options});
    const auto synack = t.take();
    t.iss = synack.h.sequence;
    CHECK(t.describe(synack) == "0ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
    CHECK(t.counter("syncookies_sent") == 1);
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 1});
    REQUIRE(t.state() == tcp::state::established);
    CHECK(t.counter("peer_wscale_clamped") == 0);
    CHECK(t.sock()->send_scale() == 0);
    CHECK(t.sock()->snd_wnd() == 1);
}
