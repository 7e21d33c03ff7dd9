// The rules every synchronized state shares (RFC 9293 §3.10.7.4 first, second and fourth
// checks; RFC 5961 §3-4), traced in each of them: a segment outside the window, left or
// right of it, with data or a FIN, is answered by <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and
// changes nothing; a RST outside the window is dropped without a word; a SYN draws a
// challenge ACK. The table gives each state's SND.NXT and RCV.NXT (relative: our FIN takes
// our 1, the peer's FIN its 1).
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

#include <functional>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

struct state_case {
    const char* name;
    std::function<void(trace&)> enter;
    tcp::state state;
    std::uint32_t snd_nxt, rcv_nxt;
};

const state_case cases[] = {
    {"ESTABLISHED", [](trace& t) { t.established(); }, tcp::state::established, 1, 1},
    {"FIN-WAIT-1", [](trace& t) { t.fin_wait_1(); }, tcp::state::fin_wait_1, 2, 1},
    {"FIN-WAIT-2", [](trace& t) { t.fin_wait_2(); }, tcp::state::fin_wait_2, 2, 1},
    {"CLOSE-WAIT", [](trace& t) { t.close_wait(); }, tcp::state::close_wait, 1, 2},
    {"CLOSING", [](trace& t) { t.closing(); }, tcp::state::closing, 2, 2},
    {"LAST-ACK", [](trace& t) { t.last_ack(); }, tcp::state::last_ack, 2, 2},
    {"TIME-WAIT", [](trace& t) { t.time_wait(); }, tcp::state::time_wait, 2, 2},
};

std::string ack_line(const state_case& c) {
    return "0ms [.] seq " + std::to_string(c.snd_nxt) + " ack " + std::to_string(c.rcv_nxt) +
           " win 65535 len 0";
}

} // namespace

TEST_CASE("tcp trace, every synchronized state: outside the window, data and FIN get an ACK, "
          "RST gets nothing; SYN gets a challenge ACK", "[tcp][trace][window]") {
    for (const auto& c : cases) {
        SECTION(c.name) {
            trace t;
            c.enter(t);
            REQUIRE(t.state() == c.state);
            const std::uint32_t right = c.rcv_nxt + 65535; // the first number past the window
            // Left of the window: data already received (the peer's ISN again).
            t.in({.flags = A, .seq = 0, .ack = c.snd_nxt, .len = 1});
            CHECK(t.out() == ack_line(c));
            // Right of it: data, and a FIN.
            t.in({.flags = A, .seq = right, .ack = c.snd_nxt, .len = 100});
            CHECK(t.out() == ack_line(c));
            t.in({.flags = F | A, .seq = right + 1000, .ack = c.snd_nxt});
            CHECK(t.out() == ack_line(c));
            // RSTs outside the window, either side (one past the right edge: Linux, and so
            // coronet, treats a zero-length segment at the edge itself as in the window).
            t.in({.flags = R, .seq = right + 1});
            t.in({.flags = R | A, .seq = c.rcv_nxt - 1, .ack = c.snd_nxt});
            CHECK(t.quiet());
            // A SYN, in or out of the window.
            t.in({.flags = S, .seq = c.rcv_nxt + 10});
            CHECK(t.out() == ack_line(c));
            t.in({.flags = S, .seq = right + 5});
            CHECK(t.out() == ack_line(c));
            CHECK(t.quiet());
            CHECK(t.state() == c.state);
            CHECK(t.sock()->rcv_nxt().raw() == peer_isn + c.rcv_nxt);
            CHECK(t.sock()->snd_nxt().raw() == t.iss + c.snd_nxt);
            CHECK(t.counter("out_of_window") >= 3);
        }
    }
}
