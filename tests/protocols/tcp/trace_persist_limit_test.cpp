// Packet traces of the persist timer's limit. A peer that closes its window and then goes
// silent (or was never more than a spoofed handshake) would keep a connection probing, and
// its send buffer pinned, for ever; Linux's tcp_probe_timer gives up after tcp_retries2
// probes in a row that no ACK answered, after tcp_orphan_retries once the application has
// closed the socket. Found by the stack fuzzer: a pool not whole after every process ended.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {
std::size_t probes_until_quiet(trace& t) {
    std::size_t n = 0;
    while (t.sock() != nullptr && t.step())
        while (!t.quiet()) {
            if (t.take().h.payload_length == 1) ++n;
        }
    return n;
}
} // namespace

TEST_CASE("tcp persist: a zero window whose probes go unanswered ends the connection with "
          "ETIMEDOUT after `retries` probes", "[tcp][trace][timers][persist][adversarial]") {
    trace t;
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.read();
    t.write(3000);
    CHECK(probes_until_quiet(t) == 15);
    CHECK(t.state() == tcp::state::closed);
    CHECK(t.read_result == -ETIMEDOUT);
    CHECK(t.counter("persist_timeouts") == 1);
    CHECK(t.buffers.in_use() == 0); // the send buffer went with it
}

TEST_CASE("tcp persist: a peer that answers every probe with a zero window is probed for as "
          "long as it answers (RFC 1122 §4.2.2.17)", "[tcp][trace][timers][persist]") {
    trace t;
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.write(3000);
    for (int i = 0; i < 40; ++i) {
        t.run_to_next();
        REQUIRE(t.out().find("len 1") != std::string::npos);
        t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    }
    CHECK(t.state() == tcp::state::established);
    CHECK(t.counter("persist_timeouts") == 0);
}

TEST_CASE("tcp persist: once the application closed the connection, `orphan_retries` "
          "unanswered probes end it", "[tcp][trace][timers][persist][adversarial]") {
    trace t;
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.write(3000);
    t.close();
    CHECK(probes_until_quiet(t) == 8);
    CHECK(t.sock() == nullptr);
    CHECK(t.counter("persist_timeouts") == 1);
    CHECK(t.buffers.in_use() == 0);
}

TEST_CASE("tcp persist: TCP_USER_TIMEOUT bounds the probing too",
          "[tcp][trace][timers][persist][user_timeout]") {
    trace t;
    t.established();
    t.option(socket_option::user_timeout, 10000);
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.read();
    t.write(3000);
    (void)probes_until_quiet(t);
    CHECK(t.read_result == -ETIMEDOUT);
    // The first probe left after one RTO (200 ms); the timeout counts from there.
    CHECK(t.clock.now() - t.zero >= 10200ms);
    CHECK(t.clock.now() - t.zero < 10200ms + 120s);
}

TEST_CASE("tcp persist: a FIN behind a zero window is probed for, and given up on like data",
          "[tcp][trace][timers][persist][adversarial]") {
    trace t;
    t.established_passive();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.close();
    // Found by the stack fuzzer: the FIN waited for a window that never opened, with no timer
    // armed, and the orphaned connection stayed for ever.
    t.run_while_open();
    CHECK(t.sock() == nullptr);
}

TEST_CASE("tcp persist: data held back from a one-byte window (sender SWS avoidance) is sent "
          "at the override timeout, and a silent peer then times out",
          "[tcp][trace][timers][persist][adversarial]") {
    // Found by the stack fuzzer: a peer that offered one byte of window and went silent left
    // an orphaned FIN-WAIT-1 connection with 100 bytes queued and no timer armed, for ever.
    trace t;
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 1});
    t.write(100);
    CHECK(t.quiet()); // 1 byte is less than half the largest window offered: held (§3.8.6.2.1)
    CHECK(t.run_to_next() == 200ms); // the override timeout, one RTO
    CHECK(t.out() == "200ms [.] seq 1 ack 1 win 65535 len 1");
    SECTION("the peer takes it: the next byte goes the same way") {
        t.in({.flags = A, .seq = 1, .ack = 2, .win = 1});
        CHECK(t.run_to_next() == 400ms);
        CHECK(t.out() == "400ms [.] seq 2 ack 1 win 65535 len 1");
    }
    SECTION("the peer is silent: retransmissions, then ETIMEDOUT") {
        t.read();
        t.close();
        t.run_while_open();
        CHECK(t.sock() == nullptr);
        CHECK(t.buffers.in_use() == 0);
    }
}

TEST_CASE("tcp persist: TCP_INFO's probes count the probes no ACK answered, its backoff the "
          "persist timer's doublings (Linux's icsk_probes_out, icsk_backoff)",
          "[tcp][trace][timers][persist][info]") {
    trace t;
    t.established();
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    t.write(3000);
    auto i = t.sock()->connection_info().value();
    CHECK(i.probes == 0);
    CHECK(i.backoff == 0);
    for (int n = 1; n <= 2; ++n) {
        t.run_to_next();
        REQUIRE(t.out().find("len 1") != std::string::npos);
        i = t.sock()->connection_info().value();
        CHECK(i.probes == n);
        CHECK(i.backoff == n);
    }
    // An answer (the window still closed) says the peer is alive: probes start again from
    // 0; the timer keeps its backoff.
    t.in({.flags = A, .seq = 1, .ack = 1, .win = 0});
    i = t.sock()->connection_info().value();
    CHECK(i.probes == 0);
    CHECK(i.backoff == 2);
}
