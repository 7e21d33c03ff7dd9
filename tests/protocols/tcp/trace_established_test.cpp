// Packet traces of ESTABLISHED (RFC 9293 §3.10.7.4; RFC 5961 for RST, SYN and ACK checks;
// RFC 5681 §4.2 and RFC 9293 §3.8.6.3 for when an ACK goes out): one peer segment in, in the
// window and out of it, and our segments out.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace ESTABLISHED: data in order is acknowledged after 40 ms or every second "
          "full segment; out of order at once", "[tcp][trace][established]") {
    trace t;
    t.established();
    SECTION("one small segment: the ACK waits the delayed-ACK time") {
        t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
        t.run_for(39ms);
        CHECK(t.quiet());
        t.run_for(1ms);
        CHECK(t.out() == "40ms [.] seq 1 ack 101 win 65535 len 0");
        CHECK(t.counter("delayed_acks") == 1);
    }
    SECTION("two full segments: acknowledged on the second, at once") {
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 1460});
        CHECK(t.quiet());
        t.run_for(10ms);
        t.in({.flags = A, .seq = 1461, .ack = 1, .len = 1460});
        CHECK(t.out() == "10ms [.] seq 1 ack 2921 win 65535 len 0");
        t.run_for(100ms);
        CHECK(t.quiet()); // no delayed ACK left behind
    }
    SECTION("a segment after a hole: a duplicate ACK at once; the filler: an ACK at once") {
        t.in({.flags = A, .seq = 1001, .ack = 1, .len = 500});
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.counter("ofo_queued") == 1);
        t.run_for(5ms);
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 1000});
        CHECK(t.out() == "5ms [.] seq 1 ack 1501 win 65535 len 0");
    }
    SECTION("data already received: an ACK at once, nothing delivered twice") {
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 100});
        t.run_for(40ms);
        CHECK(t.out() == "40ms [.] seq 1 ack 101 win 65535 len 0");
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 100});
        CHECK(t.out() == "40ms [.] seq 1 ack 101 win 65535 len 0");
        CHECK(t.counter("out_of_window") == 1);
    }
    SECTION("data beyond the window: an ACK at once, dropped") {
        t.in({.flags = A, .seq = 1 + 65535 + 10, .ack = 1, .len = 100});
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.counter("out_of_window") == 1);
        CHECK(t.counter("ofo_queued") == 0);
    }
    SECTION("data straddling the right edge: the part inside is taken") {
        t.in({.flags = A, .seq = 65535 - 99, .ack = 1, .len = 200});
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.sock()->reassembly().bytes() == 100);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED with SACK: an out-of-order segment is reported in a SACK "
          "block", "[tcp][trace][established][sack]") {
    trace t;
    t.peer_options.sack_permitted = true;
    t.established();
    t.in({.flags = A, .seq = 1461, .ack = 1, .len = 1460});
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0 <sack 1461-2921>");
    t.in({.flags = A, .seq = 4381, .ack = 1, .len = 1460});
    // RFC 2018 §4: the block of the most recent segment first.
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0 <sack 4381-5841,sack 1461-2921>");
    t.in({.flags = A, .seq = 1, .ack = 1, .len = 1460});
    CHECK(t.out() == "0ms [.] seq 1 ack 2921 win 65535 len 0 <sack 4381-5841>");
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED: RST resets only at RCV.NXT; in the window it draws a "
          "challenge ACK; outside it is dropped (RFC 5961 §3)", "[tcp][trace][established][rst]") {
    trace t;
    t.established();
    SECTION("at RCV.NXT: CLOSED, ECONNRESET, nothing sent") {
        t.in({.flags = R, .seq = 1});
        CHECK(t.quiet());
        CHECK(t.sock() == nullptr);
        CHECK(t.counter("estab_resets") == 1);
    }
    SECTION("in the window: challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>") {
        t.in({.flags = R, .seq = 2000});
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::established);
        CHECK(t.counter("challenge_acks") == 1);
    }
    SECTION("outside the window, either side: dropped silently") {
        t.in({.flags = R, .seq = 1 + 65535 + 1});
        t.in({.flags = R | A, .seq = 0, .ack = 1});
        CHECK(t.quiet());
        CHECK(t.state() == tcp::state::established);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED: a SYN draws a challenge ACK whatever its sequence number "
          "(RFC 5961 §4)", "[tcp][trace][established][syn]") {
    trace t;
    t.established();
    SECTION("in the window") { t.in({.flags = S, .seq = 500, .opts = trace::mss(1460)}); }
    SECTION("at the old ISN") { t.in({.flags = S, .seq = 0, .opts = trace::mss(1460)}); }
    SECTION("a SYN-ACK") { t.in({.flags = S | A, .seq = 0, .ack = 1}); }
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
    CHECK(t.quiet());
    CHECK(t.state() == tcp::state::established);
}

TEST_CASE("tcp trace ESTABLISHED: ACK validity (RFC 9293 §3.10.7.4 fifth check, RFC 5961 §5)",
          "[tcp][trace][established][ack]") {
    trace t;
    t.established();
    t.write(1000);
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 1000");
    SECTION("an ACK of data not yet sent: an ACK in reply, the segment (and its data) dropped") {
        t.in({.flags = A, .seq = 1, .ack = 5000, .len = 10});
        CHECK(t.out() == "0ms [.] seq 1001 ack 1 win 65535 len 0");
        CHECK(t.sock()->snd_una().raw() == t.iss + 1);
        CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 1);
    }
    SECTION("an ACK older than SND.UNA - MAX.SND.WND: challenge ACK, data dropped") {
        t.in({.flags = A, .seq = 1, .ack = static_cast<std::uint32_t>(-70000), .len = 10});
        CHECK(t.out() == "0ms [.] seq 1001 ack 1 win 65535 len 0");
        CHECK(t.counter("challenge_acks") == 1);
        CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 1);
    }
    SECTION("a duplicate ACK within the window: accepted, its data taken") {
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 10});
        t.run_for(40ms);
        CHECK(t.out() == "40ms [.] seq 1001 ack 11 win 65535 len 0");
    }
    SECTION("an ACK of everything: the retransmission timer stops") {
        t.in({.flags = A, .seq = 1, .ack = 1001});
        CHECK(t.sock()->snd_una().raw() == t.iss + 1001);
        t.run_for(10s);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED: FIN in order goes to CLOSE-WAIT, acknowledged at once; a FIN "
          "after a hole waits for the hole", "[tcp][trace][established][fin]") {
    trace t;
    t.established();
    SECTION("in order") {
        t.in({.flags = F | A, .seq = 1, .ack = 1});
        CHECK(t.out() == "0ms [.] seq 1 ack 2 win 65535 len 0");
        CHECK(t.state() == tcp::state::close_wait);
    }
    SECTION("with data, after a hole") {
        t.in({.flags = F | P | A, .seq = 51, .ack = 1, .len = 50});
        CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
        CHECK(t.state() == tcp::state::established);
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 50});
        CHECK(t.out() == "0ms [.] seq 1 ack 102 win 65535 len 0");
        CHECK(t.state() == tcp::state::close_wait);
    }
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED with timestamps: PAWS drops a segment with an older TSval and "
          "acknowledges it (RFC 7323 §5.3)", "[tcp][trace][established][paws]") {
    trace t;
    t.peer_options.timestamps = tcp::timestamps{5000, 0};
    t.established();
    REQUIRE(t.sock()->timestamps_enabled());
    auto ts = [](std::uint32_t val) {
        tcp::options o;
        o.timestamps = tcp::timestamps{val, 0};
        return o;
    };
    SECTION("older: an ACK echoing TS.Recent, the data not taken") {
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 100, .opts = ts(4999)});
        auto a = t.take();
        CHECK(t.describe(a) == "0ms [.] seq 1 ack 1 win 65535 len 0 <ts>");
        CHECK(a.h.options.timestamps->echo_reply == 5000);
        CHECK(t.counter("paws_rejected") == 1);
        CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 1);
        // The connection goes on: the same bytes with a current TSval are taken.
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 100, .opts = ts(5000)});
        CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 101);
        t.run_for(40ms);
        CHECK(t.out() == "40ms [.] seq 1 ack 101 win 65535 len 0 <ts>");
    }
    SECTION("newer: taken, and its TSval echoed from then on") {
        t.in({.flags = A, .seq = 1, .ack = 1, .len = 100, .opts = ts(5001)});
        t.run_for(40ms);
        auto a = t.take();
        CHECK(t.describe(a) == "40ms [.] seq 1 ack 101 win 65535 len 0 <ts>");
        CHECK(a.h.options.timestamps->echo_reply == 5001);
    }
    SECTION("a RST with an older TSval is not subject to PAWS: it still resets") {
        t.in({.flags = R, .seq = 1, .opts = ts(1)});
        CHECK(t.sock() == nullptr);
    }
    CHECK(t.quiet());
}
