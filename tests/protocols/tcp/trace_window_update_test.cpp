// Packet traces of the window update a read sends (socket::consumed): receiver-side SWS
// avoidance as RFC 9293 §3.8.6.2.2 sets its minimum (the window grew by min(RCV.BUFF / 2,
// MSS)) and Linux's tcp_cleanup_rbuf its rule: a pure ACK only when the window advertised now
// is below one segment (a zero window is reopened at once) or the new one at least doubles
// it. Otherwise the sender has most of a window left, and the ACKs of its data carry the
// new edge. None after the peer's FIN, none the window field cannot carry.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {
tcp::config with_buffer(std::size_t bytes) {
    auto c = trace_config();
    c.receive_buffer = bytes;
    return c;
}
} // namespace

TEST_CASE("tcp trace window update: a reader that drains a full window after a zero window "
          "gets its update at once",
          "[tcp][trace][window]") {
    trace t(with_buffer(4 * 1460));
    t.established();
    for (std::uint32_t i = 0; i < 4; ++i)
        t.in({.flags = A, .seq = 1 + i * 1460, .ack = 1, .len = 1460});
    CHECK(t.out_all() == "0ms [.] seq 1 ack 2921 win 2920 len 0\n"
                         "0ms [.] seq 1 ack 5841 win 0 len 0\n");
    t.read();
    CHECK(t.read_result == 4 * 1460);
    CHECK(t.out() == "0ms [.] seq 1 ack 5841 win 5840 len 0"); // at once, not with a probe
    CHECK(t.quiet());
}

TEST_CASE("tcp trace window update: none while the window does not double, one once it does",
          "[tcp][trace][window]") {
    trace t(with_buffer(20000));
    t.established();
    for (std::uint32_t i = 0; i < 3; ++i)
        t.in({.flags = A, .seq = 1 + i * 1460, .ack = 1, .len = 1460});
    CHECK(t.out() == "0ms [.] seq 1 ack 2921 win 17080 len 0");
    // 15620 advertised, 20000 after the read: the sender has most of its window left.
    t.read();
    CHECK(t.read_result == 3 * 1460);
    CHECK(t.quiet());
    t.run_for(40ms); // the delayed ACK of the third segment carries the new edge
    CHECK(t.out() == "40ms [.] seq 1 ack 4381 win 20000 len 0");
    CHECK(t.quiet());

    // 8 more segments leave 8320; the read's 20000 is more than twice that: a pure ACK.
    for (std::uint32_t i = 3; i < 11; ++i)
        t.in({.flags = A, .seq = 1 + i * 1460, .ack = 1, .len = 1460});
    CHECK(t.out_all() == "40ms [.] seq 1 ack 7301 win 17080 len 0\n"
                         "40ms [.] seq 1 ack 10221 win 14160 len 0\n"
                         "40ms [.] seq 1 ack 13141 win 11240 len 0\n"
                         "40ms [.] seq 1 ack 16061 win 8320 len 0\n");
    t.read();
    CHECK(t.read_result == 8 * 1460);
    CHECK(t.out() == "40ms [.] seq 1 ack 16061 win 20000 len 0");
    CHECK(t.quiet());
}

TEST_CASE("tcp trace window update: none once the peer's FIN is in, though the window was zero",
          "[tcp][trace][window]") {
    trace t(with_buffer(4 * 1460));
    t.established();
    for (std::uint32_t i = 0; i < 3; ++i)
        t.in({.flags = A, .seq = 1 + i * 1460, .ack = 1, .len = 1460});
    t.in({.flags = F | A, .seq = 1 + 3 * 1460, .ack = 1, .len = 1460});
    CHECK(t.out_all() == "0ms [.] seq 1 ack 2921 win 2920 len 0\n"
                         "0ms [.] seq 1 ack 5842 win 0 len 0\n");
    t.read();
    CHECK(t.read_result == 4 * 1460);
    CHECK(t.quiet()); // the peer sends nothing more: an update would be a wasted segment
}
