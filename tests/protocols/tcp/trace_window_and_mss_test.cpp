// Packet traces of two limits of a segment, both found by the 64 MiB matrix.
//
// The right edge of our receive window: a peer that filled the whole window and lost it
// numbers its pure ACKs at its highest sequence sent, exactly RCV.NXT + RCV.WND. RFC 9293's
// test (RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND) rejects them; Linux's tcp_sequence() accepts
// up to the edge inclusive. With the strict test such ACKs were dropped for as long as the
// hole lasted: at 10 % loss both ends retransmitted for 15 minutes and failed.
//
// The data room beside SACK blocks: a segment's data is the MSS less its options.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace ESTABLISHED: a pure ACK numbered at the right edge of our window is "
          "processed", "[tcp][trace][established]") {
    trace t;
    t.established();
    t.write(1000);
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 1000");
    // Our window is 65535 from RCV.NXT = 1: the edge is 65536.
    t.in({.flags = A, .seq = 65536, .ack = 1001});
    CHECK(t.quiet()); // not answered as unacceptable
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 1001));
    CHECK(t.counter("out_of_window") == 0);
    SECTION("one past the edge is still unacceptable: an ACK in reply, the ACK not processed") {
        t.write(500);
        CHECK(t.out() == "0ms [P.] seq 1001 ack 1 win 65535 len 500");
        t.in({.flags = A, .seq = 65537, .ack = 1501});
        CHECK(t.out() == "0ms [.] seq 1501 ack 1 win 65535 len 0");
        CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 1001));
        CHECK(t.counter("out_of_window") == 1);
    }
}

TEST_CASE("tcp trace ESTABLISHED with SACK: data segments that carry SACK blocks are shortened "
          "so that header, options and data still fit the MSS", "[tcp][trace][established][sack]") {
    // Found by the 64 MiB matrix: with holes on both sides, 1460 bytes of data beside three
    // SACK blocks made 1528-byte datagrams that IP fragmented on a 1500-byte link.
    trace t;
    t.peer_options.sack_permitted = true;
    t.established();
    t.option(socket_option::no_delay, 1);
    t.in({.flags = A, .seq = 1461, .ack = 1, .len = 100});
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0 <sack 1461-1561>");
    t.write(3000);
    // One block: 12 option bytes (2 NOPs, kind, length, two edges), so 1448 of data.
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 1448 <sack 1461-1561>");
    CHECK(t.out() == "0ms [.] seq 1449 ack 1 win 65535 len 1448 <sack 1461-1561>");
    CHECK(t.out() == "0ms [P.] seq 2897 ack 1 win 65535 len 104 <sack 1461-1561>");
    t.in({.flags = A, .seq = 3000, .ack = 3001, .len = 100});
    t.in({.flags = A, .seq = 5000, .ack = 3001, .len = 100});
    (void)t.out_all();
    t.write(1460);
    // Three blocks: 28 option bytes, 1432 of data; the rest follows.
    CHECK(t.out() == "0ms [.] seq 3001 ack 1 win 65535 len 1432 <sack 5000-5100,sack 3000-3100,sack 1461-1561>");
    CHECK(t.out() == "0ms [P.] seq 4433 ack 1 win 65535 len 28 <sack 5000-5100,sack 3000-3100,sack 1461-1561>");
    // Once the holes are filled the full MSS is back.
    t.in({.flags = A, .seq = 1, .ack = 4461, .len = 1460});
    (void)t.out_all();
    t.in({.flags = A, .seq = 1561, .ack = 4461, .len = 1439});
    t.in({.flags = A, .seq = 3100, .ack = 4461, .len = 1900});
    (void)t.out_all();
    t.write(1460);
    CHECK(t.out() == "0ms [P.] seq 4461 ack 5100 win 65535 len 1460");
}
