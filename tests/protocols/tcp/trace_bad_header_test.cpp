// Packet traces of TCP headers whose lengths lie: a data offset below 5 words or beyond the
// segment, an option of length 0 or 1, of the wrong length for its kind, or running past the
// header. Each such segment (with a correct checksum, so that the lie is the only fault) is
// dropped without an answer and counted (tcp.in_errs and the reason), and the connection takes
// the next good segment.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// A segment of 100 bytes at RCV.NXT with an MSS option (bytes 20-23: 02 04 05 b4) whose
// header `damage` rewrites.
template <class F>
void damaged(trace& t, F damage) {
    tcp::options o;
    o.mss = 1460;
    auto bytes = t.bytes_of({.flags = P | A, .seq = 1, .ack = 1, .len = 100, .opts = o});
    damage(bytes);
    t.in_bytes(std::move(bytes), true);
}
void set(std::vector<std::byte>& b, std::size_t at, std::uint8_t v) { b[at] = std::byte{v}; }

} // namespace

TEST_CASE("tcp trace ESTABLISHED: a segment with a malformed option is dropped unanswered, "
          "counted, and the next is taken",
          "[tcp][trace][options][adversarial]") {
    struct bad {
        const char* what;
        std::uint8_t b20, b21, b22, b23;
    };
    const auto c =
        GENERATE(bad{"length 0", 0x1e, 0x00, 0x00, 0x00}, bad{"length 1", 0x1e, 0x01, 0x00, 0x00},
                 bad{"MSS of length 3", 0x02, 0x03, 0x05, 0x00},
                 bad{"past the header", 0x01, 0x01, 0x08, 0x0a},
                 bad{"a kind without its length", 0x01, 0x01, 0x01, 0x1e});
    CAPTURE(c.what);
    trace t;
    t.established();
    damaged(t, [&](std::vector<std::byte>& b) {
        set(b, 20, c.b20), set(b, 21, c.b21), set(b, 22, c.b22), set(b, 23, c.b23);
    });
    CHECK(t.counter("bad_options") == 1);
    CHECK(t.counter("in_errs") == 1);
    CHECK(t.counter("bad_data_offset") == 0);
    CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 1);
    t.run_for(1s);
    CHECK(t.quiet());
    t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
    CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 101);
    CHECK(t.counter("in_errs") == 1);
}

TEST_CASE("tcp trace ESTABLISHED: a data offset below 5 words or beyond the segment is "
          "dropped unanswered, counted, and the next segment is taken",
          "[tcp][trace][options][adversarial]") {
    // Byte 12's high nibble: 0 and 4 words are shorter than a header; 15 words (60 bytes)
    // is more than a 20-byte header with no payload holds.
    const std::uint8_t words = GENERATE(std::uint8_t{0}, std::uint8_t{4}, std::uint8_t{15});
    CAPTURE(words);
    trace t;
    t.established();
    auto bytes = t.bytes_of({.flags = A, .seq = 1, .ack = 1});
    REQUIRE(bytes.size() == 20);
    set(bytes, tcp::field::data_offset, static_cast<std::uint8_t>(words << 4));
    t.in_bytes(std::move(bytes), true);
    CHECK(t.counter("bad_data_offset") == 1);
    CHECK(t.counter("in_errs") == 1);
    t.run_for(1s);
    CHECK(t.quiet());
    t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
    CHECK(t.sock()->rcv_nxt().raw() == peer_isn + 101);
}

TEST_CASE("tcp trace LISTEN: a SYN with a malformed option gets neither SYN-ACK nor RST, and "
          "the next SYN is answered",
          "[tcp][trace][options][adversarial]") {
    trace t;
    t.listen();
    tcp::options o;
    o.mss = 1460;
    auto syn = t.bytes_of({.flags = S, .seq = 0, .opts = o});
    set(syn, 21, 0); // the MSS option's length
    t.in_bytes(std::move(syn), true);
    CHECK(t.counter("bad_options") == 1);
    CHECK(t.quiet());
    t.in({.flags = S, .seq = 0, .opts = o});
    const auto synack = t.take();
    CHECK((tcp::has(synack.h.flags, S) && tcp::has(synack.h.flags, A)));
}
