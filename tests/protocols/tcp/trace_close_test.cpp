// Packet traces of closing (RFC 9293 §3.6, §3.10.7.4): FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT,
// CLOSING, LAST-ACK and simultaneous close; abortive close. Our FIN is sequence number 1 in
// every trace, the peer's FIN its 1 as well (no data either way unless a section sends some).
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace FIN-WAIT-1: the ACK of our FIN leads to FIN-WAIT-2, its FIN to CLOSING or "
          "TIME-WAIT; data still comes in", "[tcp][trace][fin_wait_1]") {
    trace t;
    t.established();
    t.shutdown_write();
    CHECK(t.out() == "0ms [F.] seq 1 ack 1 win 65535 len 0");
    CHECK(t.state() == tcp::state::fin_wait_1);
    SECTION("ACK of the FIN: FIN-WAIT-2, nothing sent") {
        t.in({.flags = A, .seq = 1, .ack = 2});
        CHECK(t.state() == tcp::state::fin_wait_2);
    }
    SECTION("an ACK short of the FIN: still FIN-WAIT-1") {
        t.in({.flags = A, .seq = 1, .ack = 1});
        CHECK(t.state() == tcp::state::fin_wait_1);
    }
    SECTION("its FIN, ours unacknowledged (simultaneous close): CLOSING, ACK at once") {
        t.in({.flags = F | A, .seq = 1, .ack = 1});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::closing);
    }
    SECTION("its FIN with the ACK of ours: TIME-WAIT, ACK at once") {
        t.in({.flags = F | A, .seq = 1, .ack = 2});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("data: taken, the ACK delayed") {
        t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
        t.run_for(40ms);
        CHECK(t.out() == "40ms [.] seq 2 ack 101 win 65535 len 0");
        CHECK(t.state() == tcp::state::fin_wait_1);
    }
    SECTION("RST at RCV.NXT: CLOSED with ECONNRESET") {
        t.in({.flags = R, .seq = 1});
        CHECK(t.sock() == nullptr);
    }
    SECTION("RST in the window or SYN: challenge ACK") {
        t.in({.flags = R, .seq = 300});
        CHECK(t.out() == "0ms [.] seq 2 ack 1 win 65535 len 0");
        t.in({.flags = S, .seq = 300});
        CHECK(t.out() == "0ms [.] seq 2 ack 1 win 65535 len 0");
        CHECK(t.counter("challenge_acks") == 2);
    }
    SECTION("no answer: the FIN is retransmitted after the RTO (200 ms: the handshake took no "
            "time), then 400 ms later") {
        CHECK(t.run_to_next() == 200ms);
        CHECK(t.out() == "200ms [F.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.run_to_next() == 600ms);
        CHECK(t.out() == "600ms [F.] seq 1 ack 1 win 65535 len 0");
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace FIN-WAIT-2: its FIN leads to TIME-WAIT; data is still taken",
          "[tcp][trace][fin_wait_2]") {
    trace t;
    t.fin_wait_2();
    REQUIRE(t.state() == tcp::state::fin_wait_2);
    SECTION("FIN: TIME-WAIT, ACK at once") {
        t.in({.flags = F | A, .seq = 1, .ack = 2});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("data then FIN") {
        t.in({.flags = P | A, .seq = 1, .ack = 2, .len = 100});
        CHECK(t.quiet());
        t.in({.flags = F | A, .seq = 101, .ack = 2});
        CHECK(t.out() == "0ms [.] seq 2 ack 102 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("a FIN after a hole: a duplicate ACK, still FIN-WAIT-2") {
        t.in({.flags = F | A, .seq = 51, .ack = 2, .len = 10});
        CHECK(t.out() == "0ms [.] seq 2 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::fin_wait_2);
    }
    SECTION("SYN: challenge ACK") {
        t.in({.flags = S, .seq = 7});
        CHECK(t.out() == "0ms [.] seq 2 ack 1 win 65535 len 0");
    }
    SECTION("RST at RCV.NXT: CLOSED") {
        t.in({.flags = R, .seq = 1});
        CHECK(t.sock() == nullptr);
    }
    SECTION("a half-closed socket still open waits in FIN-WAIT-2 as long as the peer sends") {
        t.run_for(600s);
        CHECK(t.state() == tcp::state::fin_wait_2);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace FIN-WAIT after close() or shutdown(SHUT_RD): new data draws a RST "
          "<SEQ=SEG.ACK><CTL=RST> and ends the connection (RFC 1122 §4.2.2.13)",
          "[tcp][trace][fin_wait_1][fin_wait_2]") {
    trace t;
    t.established();
    SECTION("FIN-WAIT-1, closed") {
        t.close();
        CHECK(t.out() == "0ms [F.] seq 1 ack 1 win 65535 len 0");
        REQUIRE(t.state() == tcp::state::fin_wait_1);
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 1});
        CHECK(t.out() == "0ms [R] seq 1 win 0 len 0");
        CHECK(t.sock() == nullptr);
        CHECK(t.counter("abort_on_data") == 1);
    }
    SECTION("FIN-WAIT-2, closed") {
        t.close();
        (void)t.take();
        t.in({.flags = A, .seq = 1, .ack = 2});
        REQUIRE(t.state() == tcp::state::fin_wait_2);
        t.in({.flags = P | A, .seq = 1, .ack = 2, .len = 100});
        CHECK(t.out() == "0ms [R] seq 2 win 0 len 0");
        CHECK(t.sock() == nullptr);
        CHECK(t.counter("abort_on_data") == 1);
    }
    SECTION("FIN-WAIT-2 after shutdown(SHUT_RD) and shutdown(SHUT_WR)") {
        (void)t.app->shutdown(t.conn, shutdown_how::read).get();
        t.shutdown_write();
        (void)t.take();
        t.in({.flags = A, .seq = 1, .ack = 2});
        REQUIRE(t.state() == tcp::state::fin_wait_2);
        t.in({.flags = P | A, .seq = 1, .ack = 2, .len = 100});
        CHECK(t.out() == "0ms [R] seq 2 win 0 len 0");
        CHECK(t.sock() == nullptr);
    }
    SECTION("closed, but only a FIN: TIME-WAIT, no RST") {
        t.close();
        (void)t.take();
        t.in({.flags = F | A, .seq = 1, .ack = 2});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::time_wait);
        CHECK(t.counter("abort_on_data") == 0);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace FIN-WAIT-2 orphaned: after close() it lasts fin_timeout (60 s)",
          "[tcp][trace][fin_wait_2][timers]") {
    trace t;
    t.established();
    t.close();
    CHECK(t.out() == "0ms [F.] seq 1 ack 1 win 65535 len 0");
    t.run_for(10ms);
    t.in({.flags = A, .seq = 1, .ack = 2});
    REQUIRE(t.state() == tcp::state::fin_wait_2);
    t.run_for(60s - 1ms);
    CHECK(t.state() == tcp::state::fin_wait_2);
    t.run_for(1ms);
    CHECK(t.sock() == nullptr);
    CHECK(t.quiet());
}

TEST_CASE("tcp trace CLOSE-WAIT: we still send; its retransmitted FIN is acknowledged; close "
          "sends our FIN", "[tcp][trace][close_wait]") {
    trace t;
    t.close_wait();
    REQUIRE(t.state() == tcp::state::close_wait);
    SECTION("our data still flows") {
        t.write(100);
        CHECK(t.out() == "0ms [P.] seq 1 ack 2 win 65535 len 100");
    }
    SECTION("its FIN again (our ACK was lost): an ACK") {
        t.in({.flags = F | A, .seq = 1, .ack = 1});
        CHECK(t.out() == "0ms [.] seq 1 ack 2 win 65535 len 0");
    }
    SECTION("data after its FIN: ignored, acknowledged where we are") {
        t.in({.flags = A, .seq = 2, .ack = 1, .len = 10});
        CHECK(t.out() == "0ms [.] seq 1 ack 2 win 65535 len 0");
        CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 2);
    }
    SECTION("SYN: challenge ACK") {
        t.in({.flags = S, .seq = 2});
        CHECK(t.out() == "0ms [.] seq 1 ack 2 win 65535 len 0");
    }
    SECTION("RST at RCV.NXT: CLOSED with ECONNRESET") {
        t.in({.flags = R, .seq = 2});
        CHECK(t.sock() == nullptr);
        CHECK(t.counter("estab_resets") == 1);
    }
    SECTION("shutdown: LAST-ACK with our FIN") {
        t.shutdown_write();
        CHECK(t.out() == "0ms [F.] seq 1 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::last_ack);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace CLOSING: the ACK of our FIN leads to TIME-WAIT", "[tcp][trace][closing]") {
    trace t;
    t.closing();
    REQUIRE(t.state() == tcp::state::closing);
    SECTION("ACK of our FIN: TIME-WAIT, nothing sent") {
        t.in({.flags = A, .seq = 2, .ack = 2});
        CHECK(t.state() == tcp::state::time_wait);
    }
    SECTION("its FIN again: an ACK") {
        t.in({.flags = F | A, .seq = 1, .ack = 1});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::closing);
    }
    SECTION("RST at RCV.NXT: CLOSED") {
        t.in({.flags = R, .seq = 2});
        CHECK(t.sock() == nullptr);
    }
    SECTION("no ACK: our FIN again after the RTO") {
        CHECK(t.run_to_next() == 200ms);
        CHECK(t.out() == "200ms [F.] seq 1 ack 2 win 65535 len 0");
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace LAST-ACK: the ACK of our FIN closes", "[tcp][trace][last_ack]") {
    trace t;
    t.last_ack();
    REQUIRE(t.state() == tcp::state::last_ack);
    SECTION("ACK of our FIN: CLOSED, no TIME-WAIT for the passive closer") {
        t.in({.flags = A, .seq = 2, .ack = 2});
        CHECK(t.sock() == nullptr);
    }
    SECTION("an ACK short of the FIN: still LAST-ACK") {
        t.in({.flags = A, .seq = 2, .ack = 1});
        CHECK(t.state() == tcp::state::last_ack);
    }
    SECTION("its FIN again: an ACK numbered after our FIN") {
        t.in({.flags = F | A, .seq = 1, .ack = 1});
        CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
    }
    SECTION("RST at RCV.NXT: CLOSED") {
        t.in({.flags = R, .seq = 2});
        CHECK(t.sock() == nullptr);
    }
    SECTION("no ACK: our FIN again after the RTO") {
        CHECK(t.run_to_next() == 200ms);
        CHECK(t.out() == "200ms [F.] seq 1 ack 2 win 65535 len 0");
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace: simultaneous close goes FIN-WAIT-1, CLOSING, TIME-WAIT on both FINs "
          "crossing", "[tcp][trace][closing][time_wait]") {
    trace t;
    t.established();
    t.shutdown_write();
    CHECK(t.out() == "0ms [F.] seq 1 ack 1 win 65535 len 0");
    t.in({.flags = F | A, .seq = 1, .ack = 1}); // its FIN, sent before ours arrived
    CHECK(t.out() == "0ms [.] seq 2 ack 2 win 65535 len 0");
    CHECK(t.state() == tcp::state::closing);
    t.run_for(1ms);
    t.in({.flags = A, .seq = 2, .ack = 2}); // its ACK of our FIN
    CHECK(t.state() == tcp::state::time_wait);
    t.run_for(60s - 1ms);
    CHECK(t.state() == tcp::state::time_wait);
    t.run_for(1ms);
    CHECK(t.sock() == nullptr);
    CHECK(t.quiet());
}

TEST_CASE("tcp trace: abortive close (SO_LINGER 0) sends RST at the highest sequence sent",
          "[tcp][trace][abort]") {
    trace t;
    t.established();
    t.option(socket_option::linger, 0);
    SECTION("nothing outstanding: <SEQ=SND.NXT><CTL=RST,ACK>") {
        t.close();
        CHECK(t.out() == "0ms [R.] seq 1 ack 1 win 65535 len 0");
    }
    SECTION("after a timeout rewound SND.NXT: still SND.MAX, which the peer's RCV.NXT may be") {
        t.write(3000);
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 1460");
        CHECK(t.out() == "0ms [P.] seq 1461 ack 1 win 65535 len 1460"); // a burst's last
        CHECK(t.run_to_next() == 200ms);
        CHECK(t.out() == "200ms [.] seq 1 ack 1 win 65535 len 1460");
        // The peer got both segments; only our view is behind. A RST at 1461 would lie left
        // of its window and be ignored.
        t.close();
        CHECK(t.out() == "200ms [R.] seq 2921 ack 1 win 65535 len 0");
    }
    SECTION("unread data at close resets too (RFC 2525 §2.17)") {
        t.option(socket_option::linger, -1);
        t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 10});
        t.close();
        CHECK(t.out() == "0ms [R.] seq 1 ack 11 win 65535 len 0");
    }
    CHECK(t.sock() == nullptr);
    CHECK(t.counter("out_rsts") == 1);
    CHECK(t.quiet());
}
