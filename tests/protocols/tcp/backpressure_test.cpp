// Transmit back-pressure: a segment that a full transmit queue refuses, or that finds the
// packet pool empty, is held back, not lost. It leaves when there is room again, with no
// retransmission and no cut of the congestion window; and a write on an empty pool waits for
// a buffer (EAGAIN when non-blocking) instead of failing with ENOBUFS.
#include "tests/protocols/tcp/sim_fixture.hpp"
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

#include <optional>

using namespace coronet;
using namespace coronet::tcp_trace;

TEST_CASE("tcp back-pressure: a refused segment waits for room, then the rest leave in order",
          "[tcp][backpressure]") {
    trace t;
    t.established();
    t.tx_room = 2; // the queue takes two segments, then refuses
    t.write(5 * 1460);
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 1460");
    CHECK(t.out() == "0ms [.] seq 1461 ack 1 win 65535 len 1460");
    CHECK(t.quiet());
    CHECK(t.tx_refused == 1);
    CHECK(t.counter("tx_blocked") == 1);
    CHECK(t.layer.tx_waiting() == 1);
    CHECK(t.sock()->snd_nxt().raw() == t.iss + 1 + 2 * 1460); // the refused one is not "sent"

    // The peer acknowledges both: TCP tries again on the ACK, is refused again, and with
    // nothing in flight no timer stands in for the wake-up.
    t.run_for(10ms);
    t.in({.flags = A, .seq = 1, .ack = 1 + 2 * 1460});
    CHECK(t.quiet());
    CHECK(t.counter("tx_blocked") == 2);
    const auto cwnd = t.sock()->cwnd();
    const auto ssthresh = t.sock()->ssthresh();
    t.run_for(10s);
    CHECK(t.quiet());

    t.room();
    CHECK(t.out() == "10010ms [.] seq 2921 ack 1 win 65535 len 1460");
    CHECK(t.out() == "10010ms [.] seq 4381 ack 1 win 65535 len 1460");
    CHECK(t.out() == "10010ms [P.] seq 5841 ack 1 win 65535 len 1460");
    CHECK(t.quiet());
    CHECK(t.counter("tx_resumed") == 1);
    CHECK(t.layer.tx_waiting() == 0);
    CHECK(t.counter("retrans_segs") == 0);
    CHECK(t.counter("timeouts") == 0);
    CHECK(t.sock()->cwnd() == cwnd);
    CHECK(t.sock()->ssthresh() == ssthresh);
}

TEST_CASE("tcp back-pressure: a refused pure ACK goes out with the resumed output",
          "[tcp][backpressure]") {
    trace t;
    t.established();
    t.tx_room = 0;
    t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
    t.run_for(200ms); // the delayed ACK is due, and refused
    CHECK(t.quiet());
    CHECK(t.counter("tx_blocked") == 1);
    t.room();
    CHECK(t.out() == "200ms [.] seq 1 ack 101 win 65535 len 0");
    CHECK(t.quiet());
}

namespace {
// Every free buffer of `pool`, held until the vector goes.
std::vector<buffer_ref> drain(buffer_pool& pool) {
    std::vector<buffer_ref> held;
    while (auto b = pool.allocate())
        held.push_back(std::move(*b));
    return held;
}
} // namespace

TEST_CASE("tcp write on an empty pool waits for a buffer, then sends", "[tcp][backpressure]") {
    trace t;
    t.established();
    auto held = drain(t.buffers);
    std::optional<result<std::size_t>> written;
    t.app->spawn([&]() -> task<void> {
        const std::vector<std::byte> data(1000, std::byte{0x5a});
        written = co_await t.app->write(t.conn, data);
    });
    t.settle();
    t.run_for(1s);
    CHECK_FALSE(written.has_value());
    CHECK(t.counter("write_buffer_waits") == 1);
    CHECK(t.layer.tx_waiting() == 1);
    CHECK(t.quiet());

    held.clear(); // the buffers come back: the writer wakes
    t.settle();
    REQUIRE(written.has_value());
    REQUIRE(written->has_value());
    CHECK(**written == 1000);
    CHECK(t.out() == "1000ms [P.] seq 1 ack 1 win 65535 len 1000");
    CHECK(t.counter("tx_resumed") == 1);
}

TEST_CASE("tcp write on an empty pool: EAGAIN when non-blocking, an error when cancelled",
          "[tcp][backpressure]") {
    trace t;
    t.established();
    auto held = drain(t.buffers);
    std::optional<result<std::size_t>> written;
    SECTION("non-blocking") {
        t.option(socket_option::non_blocking, 1);
        t.app->spawn([&]() -> task<void> {
            const std::vector<std::byte> data(1000, std::byte{0x5a});
            written = co_await t.app->write(t.conn, data);
        });
        t.settle();
        REQUIRE(written.has_value());
        REQUIRE_FALSE(written->has_value());
        CHECK(written->error() == EAGAIN);
        CHECK(t.counter("write_buffer_waits") == 0);
    }
    SECTION("the process ends while the write waits") {
        t.app->spawn([&]() -> task<void> {
            const std::vector<std::byte> data(1000, std::byte{0x5a});
            written = co_await t.app->write(t.conn, data);
        });
        t.settle();
        CHECK_FALSE(written.has_value());
        t.app->terminate("cancelled");
        t.settle();
        REQUIRE(written.has_value());
        CHECK_FALSE(written->has_value());
    }
}

TEST_CASE("tcp back-pressure: 4 MiB through a 4-frame NIC queue, nothing retransmitted",
          "[tcp][backpressure][transfer]") {
    using namespace coronet::tcp_test;
    // 100 Mbit/s: a window's burst queues behind the wire's serialisation.
    tcp_test::pair_world pw({}, {.latency = 1ms, .bandwidth_bps = 100'000'000, .queue_limit = 4});
    const auto ab = pattern(4 << 20, 21);
    auto r = transfer(pw, ab, {});
    CHECK(r.client_ok);
    CHECK(r.server_ok);
    CHECK(r.at_server.size() == ab.size());
    CHECK(first_difference(r.at_server, ab) == ab.size());
    // The queue did refuse frames, each one a TCP segment held back and sent again later.
    const auto refused = pw.a.nic_at(0).stats().tx_dropped_queue_full.value;
    CHECK(refused > 0);
    CHECK(pw.tcp_counter(pw.a, "tx_blocked") == refused);
    CHECK(pw.tcp_counter(pw.a, "tx_resumed") > 0);
    CHECK(pw.tcp_counter(pw.a, "retrans_segs") == 0);
    CHECK(pw.tcp_counter(pw.a, "timeouts") == 0);
    CHECK(pw.a.stack().tcp().tx_waiting() == 0);
}
