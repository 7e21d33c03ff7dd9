// Packet traces of the peer's MSS, a number a remote host picks in its SYN. Before it was
// clamped, a SYN with MSS 0 and the ACK of our SYN-ACK ended the process with SIGFPE under
// segmentation offload (the TSO size is a multiple of the MSS); without offload it stalled
// the connection; a few bytes made a segment and a buffer of every few bytes written.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// The payload lengths of every segment sent since the last look, and their gso_size.
struct sizes {
    std::vector<std::uint32_t> lengths;
    std::vector<std::uint16_t> gso;
    std::size_t total = 0;
};
sizes take_sizes(trace& t) {
    sizes s;
    while (!t.quiet()) {
        auto o = t.take();
        s.lengths.push_back(o.h.payload_length);
        s.gso.push_back(o.gso_size);
        s.total += o.h.payload_length;
    }
    return s;
}

// Passive open from a peer whose SYN says `mss`, accepted, Nagle off.
void accept_from(trace& t, std::optional<std::uint16_t> mss) {
    t.peer_options = {};
    t.peer_options.mss = mss;
    t.established_passive();
    t.option(socket_option::no_delay, 1);
}

} // namespace

TEST_CASE("tcp trace LISTEN: a SYN's MSS below 48 is raised to 48, counted, and the "
          "connection carries data", "[tcp][trace][mss][adversarial]") {
    const std::uint16_t offered = GENERATE(std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{47});
    CAPTURE(offered);
    trace t;
    accept_from(t, offered);
    REQUIRE(t.state() == tcp::state::established);
    CHECK(t.sock()->mss() == 48);
    CHECK(t.counter("peer_mss_clamped") == 1);
    t.write(100);
    const auto s = take_sizes(t);
    CHECK(s.lengths == std::vector<std::uint32_t>{48, 48, 4});
    // The peer acknowledges everything; the connection goes on.
    t.in({.flags = A, .seq = 1, .ack = 101});
    t.write(10);
    CHECK(take_sizes(t).lengths == std::vector<std::uint32_t>{10});
}

TEST_CASE("tcp trace LISTEN: MSS 0 under segmentation offload sends TSO segments cut at 48 "
          "bytes instead of dividing by zero", "[tcp][trace][mss][adversarial]") {
    trace t;
    t.path.checksum_offload = t.path.segmentation_offload = true;
    accept_from(t, 0);
    CHECK(t.sock()->mss() == 48);
    t.write(1000);
    // The initial window is 10 segments of 48 bytes; each ACK of all of it lets more go.
    std::size_t total = 0, cut_by_nic = 0;
    for (int round = 0; round < 10 && total < 1000; ++round) {
        const auto s = take_sizes(t);
        REQUIRE(s.total > 0);
        for (std::size_t i = 0; i < s.lengths.size(); ++i) {
            if (s.lengths[i] <= 48) continue;
            CHECK(s.gso[i] == 48);
            ++cut_by_nic;
        }
        total += s.total;
        t.in({.flags = A, .seq = 1, .ack = static_cast<std::uint32_t>(1 + total)});
    }
    CHECK(total == 1000);
    CHECK(cut_by_nic > 0);
    CHECK(t.sock()->snd_una() == tcp::seq32(t.iss + 1001));
}

TEST_CASE("tcp trace LISTEN: MSS 48 is taken as it is, a large one is cut to our MTU's, and "
          "no option means 536", "[tcp][trace][mss]") {
    SECTION("48") {
        trace t;
        accept_from(t, 48);
        CHECK(t.sock()->mss() == 48);
        CHECK(t.counter("peer_mss_clamped") == 0);
    }
    SECTION("65535") {
        trace t;
        accept_from(t, 65535);
        CHECK(t.sock()->mss() == 1460);
        CHECK(t.counter("peer_mss_clamped") == 0);
    }
    SECTION("none") {
        trace t;
        accept_from(t, std::nullopt);
        CHECK(t.sock()->mss() == 536);
    }
}

TEST_CASE("tcp trace SYN-SENT: a SYN-ACK with MSS 0 and timestamps leaves 36 bytes of data "
          "per segment, and 8 beside three SACK blocks", "[tcp][trace][mss][adversarial]") {
    trace t;
    t.peer_options = {};
    t.peer_options.mss = 0;
    t.peer_options.sack_permitted = true;
    t.peer_options.timestamps = tcp::timestamps{100, 0};
    t.established();
    REQUIRE(t.state() == tcp::state::established);
    CHECK(t.sock()->mss() == 36); // 48 less the timestamp option's 12
    CHECK(t.counter("peer_mss_clamped") == 1);
    t.option(socket_option::no_delay, 1);
    // Three holes in what we received: three SACK blocks ride on every data segment.
    tcp::options o;
    o.timestamps = tcp::timestamps{101, 0};
    for (std::uint32_t seq : {101u, 301u, 501u}) t.in({.flags = A, .seq = seq, .ack = 1, .len = 50, .opts = o});
    (void)take_sizes(t);
    t.write(20);
    const auto s = take_sizes(t);
    CHECK(s.lengths == std::vector<std::uint32_t>{8, 8, 4});
}

TEST_CASE("tcp trace LISTEN with SYN cookies: a SYN with MSS 0 gets a cookie, and its ACK a "
          "connection with the cookie table's smallest MSS", "[tcp][trace][mss][syncookie][adversarial]") {
    auto c = trace_config();
    c.max_syn_backlog = 0; // every SYN is answered with a cookie
    trace t(c);
    t.peer_options = {};
    t.peer_options.mss = 0;
    t.syn_received();
    CHECK(t.counter("syncookies_sent") == 1);
    CHECK(t.counter("peer_mss_clamped") == 1);
    t.in({.flags = A, .seq = 1, .ack = 1});
    CHECK(t.counter("syncookies_recv") == 1);
    REQUIRE(t.state() == tcp::state::established);
    // A cookie keeps only an index into {536, 1300, 1440, 1460}; below 536 Linux's table
    // (msstab) and ours both fall back to its first entry.
    CHECK(t.sock()->mss() == 536);
    t.app->spawn([&t]() -> task<void> { t.conn = (co_await t.app->accept(t.listener)).value(); });
    t.settle();
    t.option(socket_option::no_delay, 1);
    t.write(600);
    CHECK(take_sizes(t).lengths == std::vector<std::uint32_t>{536, 64});
}
