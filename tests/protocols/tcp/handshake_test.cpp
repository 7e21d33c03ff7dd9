// Opening connections between two simulated hosts: a connect to a closed port is refused.
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
