// Packet traces of where PSH goes. RFC 9293 §3.9.1 leaves PSH to the sender but for the
// segment that empties the send buffer; coronet also marks the last segment of a burst of
// new data two or more segments long (a TSO segment is one), as Linux marks every GSO packet
// so that the receiver's GRO hands the burst up at once. A lone segment in the middle of a
// write, data sent again after a timeout, and what a MSG_MORE write or TCP_CORK holds back
// carry none.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// The flags of every segment not yet looked at, one "[..] seq N len L" line each.
std::string bursts(trace& t) {
    std::string r;
    while (!t.quiet()) {
        auto s = t.take();
        r += std::string(tcp::has(s.h.flags, P) ? "P " : ". ") +
             std::to_string(s.h.sequence - t.iss) + "+" + std::to_string(s.h.payload_length) +
             "\n";
    }
    return r;
}

} // namespace

TEST_CASE("tcp trace PSH: a write larger than the window: the initial window's burst ends "
          "with PSH, and so does each burst an ACK releases",
          "[tcp][trace][push]") {
    trace t;
    t.established(10ms);
    t.write(30 * 1460);
    // IW = 10 segments (RFC 6928); the write goes on beyond it.
    std::string iw;
    for (int i = 0; i < 9; ++i) iw += ". " + std::to_string(1 + i * 1460) + "+1460\n";
    iw += "P " + std::to_string(1 + 9 * 1460) + "+1460\n";
    CHECK(bursts(t) == iw);
    // Slow start: an ACK of two segments lets four go, the last with PSH.
    t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460});
    CHECK(bursts(t) == ". 14601+1460\n. 16061+1460\n. 17521+1460\nP 18981+1460\n");
}

TEST_CASE("tcp trace PSH: a lone segment inside a write carries none; the one that empties "
          "the send buffer does",
          "[tcp][trace][push]") {
    trace t;
    t.established(10ms);
    t.write(12 * 1460);
    (void)bursts(t); // the initial window, 10 segments
    // The peer's window (14600, unscaled) holds the flight to 10 segments: each ACK of one
    // segment lets exactly one more go.
    t.in({.flags = A, .seq = 1, .ack = 1 + 1460, .win = 14600});
    CHECK(bursts(t) == ". 14601+1460\n");
    t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460, .win = 14600});
    CHECK(bursts(t) == "P 16061+1460\n");
}

TEST_CASE("tcp trace PSH: data sent again after a timeout carries none, but for the segment "
          "that empties the buffer",
          "[tcp][trace][push][rto]") {
    tcp::config c = trace_config();
    c.tail_loss_probe = false; // the RTO repairs the loss
    trace t(c);
    t.established(10ms);
    t.write(4 * 1460);
    CHECK(bursts(t) == ". 1+1460\n. 1461+1460\n. 2921+1460\nP 4381+1460\n");
    t.run_to_next();
    CHECK(bursts(t) == ". 1+1460\n"); // the RTO: one segment (cwnd = 1 SMSS)
    t.in({.flags = A, .seq = 1, .ack = 1 + 1460});
    CHECK(bursts(t) == ". 1461+1460\n. 2921+1460\n"); // cwnd 2: sent again, no PSH
    t.in({.flags = A, .seq = 1, .ack = 1 + 3 * 1460});
    CHECK(bursts(t) == "P 4381+1460\n");
}

TEST_CASE("tcp trace PSH: a TSO segment of several MSS carries PSH, though the write goes "
          "on",
          "[tcp][trace][push][tso]") {
    trace t;
    t.path.checksum_offload = t.path.segmentation_offload = true;
    t.established(10ms);
    t.write(20 * 1460);
    auto s = t.take(); // the initial window in one TSO segment
    CHECK(s.h.payload_length == 10 * 1460);
    CHECK(tcp::has(s.h.flags, P));
    CHECK(t.quiet());
}

TEST_CASE("tcp trace PSH: what a MSG_MORE write sends, a burst or a TSO segment, carries none",
          "[tcp][trace][push][msg_more]") {
    for (const bool tso : {false, true}) {
        trace t;
        t.path.checksum_offload = t.path.segmentation_offload = tso;
        t.established(10ms);
        t.option(socket_option::more, 1);
        t.write(3 * 1460 + 100); // the 100 bytes wait for more
        std::uint32_t sent = 0;
        while (!t.quiet()) {
            auto s = t.take();
            CHECK_FALSE(tcp::has(s.h.flags, P));
            sent += s.h.payload_length;
        }
        CHECK(sent == 3 * 1460);
    }
}
