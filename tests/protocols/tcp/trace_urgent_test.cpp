// Packet traces of the URG flag and the urgent pointer, which the peer sets as it likes.
// coronet has no out-of-band interface: urgent data stays in the stream, as Linux's
// SO_OOBINLINE and RFC 6093 §5's advice for new applications ("TCP implementations ... the
// urgent data [...] in-line"). So the flag and the pointer change nothing: every byte is
// delivered once, in order, none taken out as Linux's default takes out the "urgent byte", and
// a pointer beyond the segment (or the window) points at nothing we keep.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp trace ESTABLISHED: urgent data is delivered in line, whatever the urgent "
          "pointer says, and the connection goes on",
          "[tcp][trace][urgent][adversarial]") {
    const std::uint16_t pointer = GENERATE(std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{100},
                                           std::uint16_t{101}, std::uint16_t{65535});
    CAPTURE(pointer);
    trace t;
    t.established();
    t.in({.flags = U | P | A, .seq = 1, .ack = 1, .len = 100, .urg = pointer});
    CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 101);
    CHECK(t.sock()->readable_bytes() == 100);
    // URG on a segment without data, its pointer far ahead: a pure ACK.
    t.in({.flags = U | A, .seq = 101, .ack = 1, .urg = 65535});
    CHECK(t.sock()->readable_bytes() == 100);
    // The next segment follows on at 101.
    t.in({.flags = P | A, .seq = 101, .ack = 1, .len = 50});
    CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 151);
    CHECK(t.quiet()); // the ACK is delayed
    t.read();
    CHECK(t.read_result == 150);
    // The read sends no window update (socket::consumed): the window field says 65535
    // already. The delayed ACK covers all 150 bytes.
    CHECK(t.quiet());
    t.run_for(1s);
    CHECK(t.out() == "40ms [.] seq 1 ack 151 win 65535 len 0");
    CHECK(t.quiet());
    CHECK(t.counter("in_errs") == 0);
}
