// Packet traces of the sender's socket options as Linux has them: TCP_CORK and MSG_MORE hold a
// partial segment (uncorking, TCP_NODELAY or the persist timer's override let it go),
// TCP_MAXSEG caps the MSS of the next handshake, TCP_NOTSENT_LOWAT bounds the bytes written
// but not yet sent.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>
#include <climits>
#include <memory>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

// One write of n bytes, run until it returns (or nothing more happens): what it took,
// -errno, or INT64_MIN while it still waits.
std::int64_t write_now(trace& t, std::size_t n) {
    auto taken = std::make_shared<std::int64_t>(INT64_MIN);
    t.app->spawn([&t, n, taken]() -> task<void> {
        std::vector<std::byte> data(n, std::byte{0x5a});
        auto r = co_await t.app->write(t.conn, data);
        *taken = r ? static_cast<std::int64_t>(*r) : -r.error();
    });
    t.settle();
    return *taken;
}

} // namespace

TEST_CASE("tcp trace TCP_CORK: partial segments wait until uncorked, then go as one",
          "[tcp][trace][cork]") {
    trace t;
    t.established(10ms);
    t.option(socket_option::cork, 1);
    t.write(40);
    t.run_for(50ms);
    t.write(40);
    t.run_for(10ms);
    CHECK(t.quiet());
    t.option(socket_option::cork, 0);
    t.settle();
    CHECK(t.out() == "60ms [P.] seq 1 ack 1 win 65535 len 80");
    CHECK(t.quiet());
}

TEST_CASE("tcp trace TCP_CORK: full segments go, the partial tail waits at most the RTO "
          "(Linux's 200 ms ceiling), then leaves with the persist timer's override",
          "[tcp][trace][cork][persist]") {
    trace t;
    t.established(10ms); // SRTT 10 ms: the RTO is its 200 ms floor
    t.option(socket_option::cork, 1);
    t.write(3000);
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 1460");
    CHECK(t.out() == "0ms [.] seq 1461 ack 1 win 65535 len 1460");
    CHECK(t.quiet());
    t.in({.flags = A, .seq = 1, .ack = 2921});
    CHECK(t.quiet()); // the 80 bytes left wait, with nothing in flight
    t.run_for(199ms);
    CHECK(t.quiet());
    t.run_for(1ms);
    CHECK(t.out() == "200ms [P.] seq 2921 ack 1 win 65535 len 80");
}

TEST_CASE("tcp trace TCP_CORK: setting TCP_NODELAY pushes what the cork holds, and a FIN "
          "uncorks",
          "[tcp][trace][cork]") {
    trace t;
    t.established(10ms);
    t.option(socket_option::cork, 1);
    t.write(40);
    CHECK(t.quiet());
    t.option(socket_option::no_delay, 1);
    t.settle();
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 40");
    t.in({.flags = A, .seq = 1, .ack = 41});
    t.write(40); // still corked: TCP_NODELAY pushed once
    CHECK(t.quiet());
    t.shutdown_write();
    CHECK(t.out() == "0ms [FP.] seq 41 ack 1 win 65535 len 40");
}

TEST_CASE("tcp trace MSG_MORE: a write's partial tail waits for the next write, whose end "
          "carries PSH; MSG_MORE data carries none",
          "[tcp][trace][cork][msg_more]") {
    trace t;
    t.established(10ms);
    t.option(socket_option::no_delay, 1); // MSG_MORE holds even with TCP_NODELAY
    t.option(socket_option::more, 1);
    CHECK(write_now(t, 100) == 100);
    CHECK(t.quiet());
    t.option(socket_option::more, 1);
    CHECK(write_now(t, 160) == 160);
    CHECK(t.quiet());
    CHECK(write_now(t, 5) == 5); // MSG_MORE was the previous write's only
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 265");
    t.in({.flags = A, .seq = 1, .ack = 266});

    t.option(socket_option::more, 1);
    CHECK(write_now(t, 3000) == 3000);
    CHECK(t.out() == "0ms [.] seq 266 ack 1 win 65535 len 1460");
    CHECK(t.out() == "0ms [.] seq 1726 ack 1 win 65535 len 1460");
    CHECK(t.quiet());
    // An ACK's output is not the write's: the tail goes (TCP_NODELAY), without PSH.
    t.in({.flags = A, .seq = 1, .ack = 1726});
    CHECK(t.out() == "0ms [.] seq 3186 ack 1 win 65535 len 80");
    CHECK(t.quiet());
}

TEST_CASE("tcp trace TCP_MAXSEG: set before connect, it is the MSS our SYN offers and caps the "
          "peer's",
          "[tcp][trace][mss]") {
    trace t;
    t.app->spawn([&t]() -> task<void> {
        auto h = t.app->socket(socket_type::stream).get().value();
        t.conn = h;
        CHECK(t.app->set_socket_option(h, socket_option::max_segment, 50).get().error() == EINVAL);
        CHECK(t.app->set_socket_option(h, socket_option::max_segment, 40000).get().error() ==
              EINVAL);
        CHECK(t.app->set_socket_option(h, socket_option::max_segment, 1100).get().has_value());
        CHECK(t.app->get_socket_option(h, socket_option::max_segment).get().value() == 1100);
        (void)co_await t.app->connect(h, {them, port(server_port)});
    });
    t.settle();
    auto syn = t.take();
    REQUIRE(syn.h.options.mss.has_value());
    CHECK(*syn.h.options.mss == 1100);
    t.iss = syn.h.sequence;
    t.local_port = syn.h.source_port.value();
    t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = trace::mss(1460)});
    (void)t.take();
    t.restart_clock();
    CHECK(t.sock()->mss() == 1100);
    t.write(2500);
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 1100");
    CHECK(t.out() == "0ms [P.] seq 1101 ack 1 win 65535 len 1100"); // the burst's last
    CHECK(t.quiet()); // Nagle holds the rest
    t.in({.flags = A, .seq = 1, .ack = 2201});
    CHECK(t.out() == "0ms [P.] seq 2201 ack 1 win 65535 len 300");
}

TEST_CASE("tcp trace TCP_MAXSEG: a listener's passes to its connections; the SYN-ACK offers it",
          "[tcp][trace][mss]") {
    trace t;
    t.listen();
    (void)t.app->set_socket_option(t.listener, socket_option::max_segment, 1000).get();
    t.in({.flags = S, .seq = 0, .opts = trace::mss(1300)});
    auto syn_ack = t.take();
    REQUIRE(syn_ack.h.options.mss.has_value());
    CHECK(*syn_ack.h.options.mss == 1000);
    t.iss = syn_ack.h.sequence;
    t.in({.flags = A, .seq = 1, .ack = 1});
    t.app->spawn([&t]() -> task<void> { t.conn = (co_await t.app->accept(t.listener)).value(); });
    t.settle();
    CHECK(t.sock()->mss() == 1000);
}

TEST_CASE("tcp trace TCP_NOTSENT_LOWAT: a write takes bytes only while fewer than the mark are "
          "unsent, and a waiting writer goes on as sending brings them below it",
          "[tcp][trace][notsent_lowat]") {
    trace t;
    t.established(10ms);
    t.option(socket_option::not_sent_low_water, 2000);
    CHECK(t.app->get_socket_option(t.conn, socket_option::not_sent_low_water).get().value() ==
          2000);
    t.option(socket_option::non_blocking, 1);
    // The initial window (10 segments) goes out, then 2 segments' worth (2000 rounded up to
    // whole segments) wait unsent.
    CHECK(write_now(t, 30000) == 10 * 1460 + 2 * 1460);
    CHECK(t.sent.size() == 10);
    t.sent.clear();
    CHECK(t.sock()->send_unsent() == 2920);
    CHECK_FALSE(t.sock()->below_low_water());
    CHECK(write_now(t, 1000) == -EAGAIN);
    // One segment ACKed: slow start sends two, the unsent bytes fall to 0.
    t.in({.flags = A, .seq = 1, .ack = 1461});
    CHECK(t.sent.size() == 2);
    CHECK(t.sock()->below_low_water());
    CHECK(write_now(t, 1000) == 1000);

    // Blocking: the writer waits until an ACK lets the unsent bytes go out.
    t.sent.clear();
    t.option(socket_option::non_blocking, 0);
    std::int64_t taken = -1;
    t.app->spawn([&t, &taken]() -> task<void> {
        std::vector<std::byte> data(5000, std::byte{1});
        auto r = co_await t.app->write(t.conn, data);
        taken = r ? static_cast<std::int64_t>(*r) : -r.error();
    });
    t.settle();
    t.in({.flags = A, .seq = 1, .ack = 2 * 1460 + 1});
    t.in({.flags = A, .seq = 1, .ack = 6 * 1460 + 1});
    t.settle();
    CHECK(taken == 5000);
    CHECK(t.sock()->send_unsent() < 2000 + 2 * 1460);
}

TEST_CASE("tcp trace TCP_NOTSENT_LOWAT: 0, the default, is no limit",
          "[tcp][trace][notsent_lowat]") {
    trace t;
    t.established(10ms);
    CHECK(t.app->get_socket_option(t.conn, socket_option::not_sent_low_water).get().value() == 0);
    t.option(socket_option::non_blocking, 1);
    CHECK(write_now(t, 30000) == 30000);
    CHECK(t.sock()->below_low_water());
}
