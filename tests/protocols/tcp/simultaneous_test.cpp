// Simultaneous open and close between two native stacks (RFC 9293 §3.5 figure 7, §3.6
// figure 13): both ends connect to each other's bound port at the same instant, exchange
// data, then close at the same instant; both pass through CLOSING to TIME-WAIT.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

// Binds `from`, connects to `to`, sends `out`, reads as many bytes back, closes at `close_at`.
task<void> peer(sim::world& w, process& p, std::uint16_t from, endpoint to,
                const std::vector<std::byte>& out, std::vector<std::byte>& in, time_point close_at,
                int& error) {
    auto h = p.socket(socket_type::stream).get().value();
    (void)p.bind(h, {ipv4_any, from}).get();
    auto c = co_await p.connect(h, to);
    if (!c) {
        error = c.error();
        co_return;
    }
    auto wr = co_await p.write_all(h, out);
    in.resize(out.size());
    auto rd = co_await p.read_exactly(h, in);
    if (!wr || !rd) error = !wr ? wr.error() : rd.error();
    (void)co_await p.sleep(close_at - w.now());
    (void)p.close(h).get();
}

} // namespace

TEST_CASE("tcp: simultaneous open and simultaneous close between two stacks",
          "[tcp][handshake][teardown]") {
    pair_world pw;
    (void)pw.w.run(pw.a.stack().ping(b_addr)); // ARP resolved: the SYNs leave together
    auto pa = pw.a.create_process("a");
    auto pb = pw.b.create_process("b");
    const auto ab = pattern(50000, 1), ba = pattern(50000, 2);
    std::vector<std::byte> at_a, at_b;
    int err_a = 0, err_b = 0;
    const time_point close_at = pw.w.now() + 1s;
    process* a = pa.get();
    process* b = pb.get();
    a->spawn([&]() -> task<void> {
        co_await peer(pw.w, *a, 5000, {b_addr, 6000}, ab, at_a, close_at, err_a);
    });
    b->spawn([&]() -> task<void> {
        co_await peer(pw.w, *b, 6000, {a_addr, 5000}, ba, at_b, close_at, err_b);
    });
    pw.w.run(a->join());
    pw.w.run(b->join());
    CHECK(err_a == 0);
    CHECK(err_b == 0);
    CHECK(first_difference(at_b, ab) == ab.size());
    CHECK(first_difference(at_a, ba) == ba.size());
    // Neither end went through LISTEN: both are active opens.
    CHECK(pw.tcp_counter(pw.a, "active_opens") == 1);
    CHECK(pw.tcp_counter(pw.b, "active_opens") == 1);
    CHECK(pw.tcp_counter(pw.a, "passive_opens") == 0);
    // Both FINs crossed: each end is an active closer, in TIME-WAIT for 2 MSL.
    pw.w.run_for(10ms);
    CHECK(pw.a.stack().tcp().connection_table().starts_with("TIME-WAIT"));
    CHECK(pw.b.stack().tcp().connection_table().starts_with("TIME-WAIT"));
    pw.w.run_for(60s);
    CHECK(pw.a.stack().tcp().connection_count() == 0);
    CHECK(pw.b.stack().tcp().connection_count() == 0);
    CHECK(pw.tcp_counter(pw.a, "out_rsts") + pw.tcp_counter(pw.b, "out_rsts") == 0);
    CHECK(pw.tcp_counter(pw.a, "out_segs") + pw.tcp_counter(pw.b, "out_segs") < 200);
}
