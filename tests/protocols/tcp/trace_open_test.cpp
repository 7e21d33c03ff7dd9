// Packet traces of opening (RFC 9293 §3.5, §3.10.7.1-3): a closed port, LISTEN, SYN-SENT,
// SYN-RECEIVED and simultaneous open, one peer segment in, our segments out.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace CLOSED: a port nobody holds answers with RST, numbered from the segment",
          "[tcp][trace][closed]") {
    trace t;
    t.local_port = 9; // nothing bound there
    SECTION("SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>") {
        t.in({.flags = S, .seq = 0, .opts = trace::mss(1460)});
        CHECK(t.out() == "0ms [R.] seq 0 ack 1 win 0 len 0");
        CHECK(t.counter("out_rsts") == 1);
    }
    SECTION("data without ACK: the ACK field covers the data") {
        t.in({.flags = P, .seq = 10, .len = 30});
        CHECK(t.out() == "0ms [R.] seq 0 ack 40 win 0 len 0");
    }
    SECTION("an ACK: <SEQ=SEG.ACK><CTL=RST>") {
        t.in_raw({.flags = A}, peer_isn, 123456);
        CHECK(t.out() == "0ms [R] seq 123456 win 0 len 0");
    }
    SECTION("a RST is never answered") {
        t.in({.flags = R | A, .seq = 5, .ack = 5});
        CHECK(t.quiet());
        CHECK(t.counter("out_rsts") == 0);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace LISTEN: SYN gets a SYN-ACK, RST is ignored, a bare ACK is reset",
          "[tcp][trace][listen]") {
    trace t;
    t.listen();
    SECTION("SYN without options: SYN-ACK with our MSS only, SYN-RECEIVED") {
        t.in({.flags = S, .seq = 0, .opts = trace::mss(1000)});
        auto synack = t.take();
        t.iss = synack.h.sequence;
        CHECK(t.describe(synack) == "0ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
        CHECK(t.state() == tcp::state::syn_received);
        CHECK(t.sock()->mss() == 1000);
    }
    SECTION("SYN offering scaling, SACK and timestamps: the SYN-ACK agrees to each") {
        tcp::options o = trace::mss(1460);
        o.window_scale = 9;
        o.sack_permitted = true;
        o.timestamps = tcp::timestamps{777, 0};
        t.in({.flags = S, .seq = 0, .opts = o});
        auto synack = t.take();
        t.iss = synack.h.sequence;
        // Window scale 7: 6 MiB of receive buffer at most; a SYN's window is never scaled.
        CHECK(t.describe(synack) == "0ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460,ws 7,sackOK,ts>");
        CHECK(synack.h.options.timestamps->echo_reply == 777);
        CHECK(t.sock()->send_scale() == 9);
    }
    SECTION("data on a SYN is not acknowledged (no TCP Fast Open)") {
        t.in({.flags = S, .seq = 0, .len = 100, .opts = trace::mss(1460)});
        auto synack = t.take();
        t.iss = synack.h.sequence;
        CHECK(t.describe(synack) == "0ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
    }
    SECTION("RST: ignored") {
        t.in({.flags = R, .seq = 0});
        CHECK(t.quiet());
    }
    SECTION("an ACK that returns no SYN cookie: <SEQ=SEG.ACK><CTL=RST>") {
        t.in_raw({.flags = A, .seq = 1}, peer_isn + 1, 4242);
        CHECK(t.out() == "0ms [R] seq 4242 win 0 len 0");
        CHECK(t.counter("syncookies_failed") == 1);
    }
    SECTION("FIN alone: dropped") {
        t.in({.flags = F, .seq = 1});
        CHECK(t.quiet());
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace SYN-SENT: the SYN-ACK establishes, a bad ACK is reset, RST refuses",
          "[tcp][trace][syn_sent]") {
    trace t;
    t.connect();
    auto syn = t.take();
    t.iss = syn.h.sequence;
    t.local_port = syn.h.source_port.value();
    t.restart_clock();
    // The active opener offers everything it is configured for; the SYN's window is unscaled.
    CHECK(t.describe(syn) == "0ms [S] seq 0 win 65535 len 0 <mss 1460,ws 7,sackOK,ts>");
    REQUIRE(t.state() == tcp::state::syn_sent);
    SECTION("SYN-ACK: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>") {
        t.run_for(5ms);
        t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = trace::mss(1460)});
        CHECK(t.out() == "5ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::established);
        CHECK(t.connect_error == 0);
        CHECK(t.sock()->rtt().srtt() == 5ms); // the SYN's round trip
    }
    SECTION("an ACK beyond SND.NXT: <SEQ=SEG.ACK><CTL=RST>, still SYN-SENT") {
        t.in({.flags = S | A, .seq = 0, .ack = 7});
        CHECK(t.out() == "0ms [R] seq 7 win 0 len 0");
        CHECK(t.state() == tcp::state::syn_sent);
    }
    SECTION("an ACK of ISS itself (SEG.ACK =< ISS): reset") {
        t.in({.flags = A, .seq = 0, .ack = 0});
        CHECK(t.out() == "0ms [R] seq 0 win 0 len 0");
        CHECK(t.state() == tcp::state::syn_sent);
    }
    SECTION("RST with an acceptable ACK: ECONNREFUSED, nothing sent") {
        t.in({.flags = R | A, .seq = 0, .ack = 1});
        CHECK(t.quiet());
        CHECK(t.connect_error == ECONNREFUSED);
        CHECK(t.sock() == nullptr);
        CHECK(t.counter("attempt_fails") == 1);
    }
    SECTION("RST without ACK, or with an unacceptable one: dropped (RFC 5961 §3.2)") {
        t.in({.flags = R, .seq = 0});
        t.in({.flags = R | A, .seq = 0, .ack = 9});
        CHECK(t.quiet());
        CHECK(t.state() == tcp::state::syn_sent);
        CHECK(t.connect_error == -1);
    }
    SECTION("neither SYN nor RST: dropped") {
        t.in({.flags = F | A, .seq = 0, .ack = 1});
        t.in({.flags = P, .seq = 1, .len = 10});
        CHECK(t.quiet());
        CHECK(t.state() == tcp::state::syn_sent);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace SYN-RECEIVED (passive): the ACK establishes; a bad ACK is reset; a "
          "repeated SYN gets the SYN-ACK again", "[tcp][trace][syn_received]") {
    trace t;
    t.syn_received();
    SECTION("ACK of our SYN: ESTABLISHED, queued for accept, nothing sent") {
        t.in({.flags = A, .seq = 1, .ack = 1});
        CHECK(t.quiet());
        CHECK(t.state() == tcp::state::established);
        CHECK(t.layer.find_listener({us, port(listen_port)})->accept_queue_size() == 1);
        // The SYN-ACK's retransmission timer went with it: nothing fires at its 1 s.
        t.run_for(5s);
        CHECK(t.counter("timeouts") == 0);
    }
    SECTION("an ACK beyond our SYN: <SEQ=SEG.ACK><CTL=RST>, still SYN-RECEIVED") {
        t.in({.flags = A, .seq = 1, .ack = 50});
        CHECK(t.out() == "0ms [R] seq 50 win 0 len 0");
        CHECK(t.state() == tcp::state::syn_received);
    }
    SECTION("the SYN again (retransmitted): our SYN-ACK again") {
        t.run_for(300ms);
        t.in({.flags = S, .seq = 0, .opts = trace::mss(1460)});
        CHECK(t.out() == "300ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
        CHECK(t.state() == tcp::state::syn_received);
    }
    SECTION("a SYN with another ISN, or data outside the window: our SYN-ACK (for the first "
            "SYN) again, no second connection") {
        t.in({.flags = S, .seq = 500, .opts = trace::mss(1460)});
        CHECK(t.out() == "0ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
        t.in({.flags = A, .seq = 70000, .ack = 1, .len = 10});
        CHECK(t.out() == "0ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
        CHECK(t.state() == tcp::state::syn_received);
        CHECK(t.layer.connection_count() == 1);
    }
    SECTION("RST at RCV.NXT: the half-open connection goes, the listener stays") {
        t.in({.flags = R, .seq = 1});
        CHECK(t.quiet());
        CHECK(t.sock() == nullptr);
        CHECK(t.layer.find_listener({us, port(listen_port)}) != nullptr);
    }
    SECTION("RST in the window, not at RCV.NXT: challenge ACK (RFC 5961 §3.2)") {
        t.in({.flags = R, .seq = 1000});
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::syn_received);
        CHECK(t.counter("challenge_acks") == 1);
    }
    SECTION("data with the ACK: ESTABLISHED and the data taken (ACK delayed)") {
        t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 300});
        CHECK(t.quiet());
        t.run_for(40ms);
        CHECK(t.out() == "40ms [.] seq 1 ack 301 win 65535 len 0");
        CHECK(t.state() == tcp::state::established);
    }
    SECTION("FIN with the ACK: ESTABLISHED then CLOSE-WAIT, the FIN acknowledged at once") {
        t.in({.flags = F | A, .seq = 1, .ack = 1});
        CHECK(t.out() == "0ms [.] seq 1 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::close_wait);
    }
    SECTION("no answer: the SYN-ACK is retransmitted after 1 s, then 2 s") {
        CHECK(t.run_to_next() == 1s);
        CHECK(t.out() == "1000ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
        CHECK(t.run_to_next() == 3s);
        CHECK(t.out() == "3000ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace: simultaneous open (RFC 9293 figure 7) establishes on the crossing "
          "SYN-ACK", "[tcp][trace][syn_sent][syn_received]") {
    trace t;
    t.syn_sent();
    // The peer's SYN crosses ours: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    t.run_for(1ms);
    t.in({.flags = S, .seq = 0, .opts = trace::mss(1460)});
    CHECK(t.out() == "1ms [S.] seq 0 ack 1 win 65535 len 0 <mss 1460>");
    CHECK(t.state() == tcp::state::syn_received);
    SECTION("its SYN-ACK (SEG.SEQ = IRS) completes the handshake: ESTABLISHED, one ACK") {
        t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = trace::mss(1460)});
        CHECK(t.out() == "1ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::established);
        CHECK(t.connect_error == 0);
        // And the connection carries data.
        t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 10});
        t.run_for(40ms);
        CHECK(t.out() == "41ms [.] seq 1 ack 11 win 65535 len 0");
    }
    SECTION("its plain ACK completes it too") {
        t.in({.flags = A, .seq = 1, .ack = 1});
        CHECK(t.quiet());
        CHECK(t.state() == tcp::state::established);
        CHECK(t.connect_error == 0);
    }
    SECTION("RST at RCV.NXT: ECONNREFUSED (an active open)") {
        t.in({.flags = R, .seq = 1});
        CHECK(t.quiet());
        CHECK(t.connect_error == ECONNREFUSED);
    }
    CHECK(t.quiet());
}
