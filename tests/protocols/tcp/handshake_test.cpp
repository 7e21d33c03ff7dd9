// Opening connections between two simulated hosts: a connect to a closed port is refused; one
// to a dead wire backs its SYN off and times out at exact virtual times.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;


TEST_CASE("tcp handshake: connect to a closed port fails with ECONNREFUSED after one RTT",
          "[tcp][handshake]") {
    pair_world pw;
    auto client = pw.a.create_process("client");
    int err = 0;
    time_point done{};
    (void)pw.w.run(pw.a.stack().ping(b_addr)); // ARP resolved: the times below are TCP's
    const time_point start = pw.w.now();
    client->spawn([&]() -> task<void> {
        auto c = co_await client->connect({b_addr, 81});
        err = c ? 0 : c.error();
        done = pw.w.now();
    });
    pw.w.run(client->join());
    CHECK(err == ECONNREFUSED);
    CHECK(done - start < 3ms); // 1 ms each way (plus serialisation)
    CHECK(pw.tcp_counter(pw.b, "out_rsts") == 1);
    CHECK(pw.tcp_counter(pw.a, "attempt_fails") == 1);
}

TEST_CASE("tcp timers: SYN retransmissions back off 1, 2, 4 ... s and fail with ETIMEDOUT at "
          "127 s", "[tcp][timers]") {
    // ARP's entry must outlive the 127 s: with the default 60 s it expires, re-resolution
    // fails on the dead wire and connect() fails with EHOSTUNREACH at 66 s, as on Linux.
    pair_world pw({}, {}, 1, 1500, 1ms, 3600s);
    (void)pw.w.run(pw.a.stack().ping(b_addr)); // ARP resolved: the times below are TCP's
    pw.link.faults().set_config({.loss = 1.0});
    auto client = pw.a.create_process("client");
    int err = 0;
    const time_point start = pw.w.now();
    time_point done{};
    client->spawn([&]() -> task<void> {
        auto c = co_await client->connect({b_addr, 80});
        err = c ? 0 : c.error();
        done = pw.w.now();
    });
    pw.w.run(client->join());
    CHECK(err == ETIMEDOUT);
    CHECK(done - start == 127s); // RFC 6298 §5.5: 1 + 2 + 4 + 8 + 16 + 32 + 64
    CHECK(pw.tcp_counter(pw.a, "retrans_segs") == 6);
    CHECK(pw.tcp_counter(pw.a, "attempt_fails") == 1);
}

TEST_CASE("tcp timers: with the default ARP lifetime, a dead wire fails connect() with "
          "EHOSTUNREACH once ARP gives up", "[tcp][timers]") {
    pair_world pw;
    (void)pw.w.run(pw.a.stack().ping(b_addr));
    pw.link.faults().set_config({.loss = 1.0});
    auto client = pw.a.create_process("client");
    int err = 0;
    client->spawn([&]() -> task<void> {
        auto c = co_await client->connect({b_addr, 80});
        err = c ? 0 : c.error();
    });
    pw.w.run(client->join());
    CHECK(err == EHOSTUNREACH);
}
