// Packet traces of SACK blocks that cannot be true: a receiver reports ranges of what we sent
// (RFC 2018 §3), so an inverted block, one ending beyond what we sent, or one wholly below
// the cumulative ACK that is not the first (the only place of a D-SACK, RFC 2883 §4) is
// ignored and counted, and the connection goes on as if the ACK had carried none of them.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// ESTABLISHED with SACK after a 100 ms handshake, Nagle off, four 1,460-byte segments sent:
// [1, 5841). The tail loss probe waits 2 * SRTT = 200 ms; the ACKs below come before it.
void four_in_flight(trace& t) {
    t.peer_options = trace::mss(1460);
    t.peer_options.sack_permitted = true;
    t.established(100ms);
    t.option(socket_option::no_delay, 1);
    t.write(4 * 1460);
    for (int i = 0; i < 4; ++i)
        (void)t.take();
}

// Blocks relative to our ISS.
tcp::options sacks(const trace& t,
                   std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> bs) {
    tcp::options o;
    for (auto [l, r] : bs)
        o.sack_blocks[o.sack_count++] = tcp::sack_block{t.iss + l, t.iss + r};
    return o;
}

} // namespace

TEST_CASE("tcp trace ESTABLISHED: SACK blocks inverted, beyond SND.NXT or below SND.UNA are "
          "ignored and counted; the valid one beside them is taken",
          "[tcp][trace][sack][adversarial]") {
    trace t;
    four_in_flight(t);
    // The first segment acknowledged; blocks: inverted and below the ACK (no D-SACK: a range
    // cannot end before it begins), beyond SND.NXT (5841), wholly below SND.UNA but not first,
    // and the last segment, really received.
    t.in({.flags = A,
          .seq = 1,
          .ack = 1461,
          .opts = sacks(t, {{1000, 500}, {4381, 7301}, {1, 1461}, {4381, 5841}})});
    CHECK(t.counter("sack_blocks_invalid") == 3);
    REQUIRE(t.sock()->sack_board() != nullptr);
    CHECK(t.sock()->sack_board()->sacked_bytes() == 1460);
    CHECK(t.sock()->sack_board()->stats().dsacks == 0);
    CHECK(t.sock()->sack_board()->stats().invalid_blocks == 0); // none reached it
    // The ACK of new data answers nothing (all sent, cwnd not the limit) and nothing was lost.
    CHECK(t.quiet());
    CHECK(t.counter("fast_retransmits") == 0);
    CHECK(t.counter("tlp_probes") == 0);
    // The peer acknowledges the rest; the connection carries more data.
    t.in({.flags = A, .seq = 1, .ack = 5841});
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 5841));
    t.write(100);
    CHECK(t.out() == "0ms [P.] seq 5841 ack 1 win 65535 len 100");
    CHECK(t.quiet());
}

TEST_CASE("tcp trace ESTABLISHED: duplicate ACKs whose SACK blocks are all invalid SACK "
          "nothing; the third retransmits by its count alone",
          "[tcp][trace][sack][adversarial]") {
    trace t;
    four_in_flight(t);
    // Three duplicate ACKs at SND.UNA, each with blocks that would mark [1, 1461) lost if
    // believed (more than DupThresh - 1 segments SACKed above it, RFC 6675 §4).
    for (int i = 0; i < 3; ++i)
        t.in({.flags = A, .seq = 1, .ack = 1, .opts = sacks(t, {{5841, 2921}, {1461, 99999}})});
    CHECK(t.counter("sack_blocks_invalid") == 6);
    // Three duplicate ACKs are loss by RFC 5681's count alone: the first segment goes again,
    // but no block was recorded.
    CHECK(t.out_all() == "0ms [.] seq 1 ack 1 win 65535 len 1460\n");
    CHECK((t.sock()->sack_board() == nullptr || t.sock()->sack_board()->sacked_bytes() == 0));
    t.in({.flags = A, .seq = 1, .ack = 5841});
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 5841));
    t.write(10);
    CHECK(t.out() == "0ms [P.] seq 5841 ack 1 win 65535 len 10");
}
