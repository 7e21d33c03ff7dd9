// Data integrity between two simulated hosts: bytes written on one side are read, equal and in
// order, on the other, with and without faults on the wire and TCP options.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp transfer: 1 MiB each way on a clean wire", "[tcp][transfer]") {
    pair_world pw;
    const auto ab = pattern(1 << 20, 1), ba = pattern(1 << 20, 2);
    auto r = transfer(pw, ab, ba);
    CHECK(r.client_ok);
    CHECK(r.server_ok);
    CHECK(r.at_server == ab);
    CHECK(r.at_client == ba);
    CHECK(pw.tcp_counter(pw.a, "retrans_segs") == 0);
    CHECK(pw.tcp_counter(pw.a, "active_opens") == 1);
    CHECK(pw.tcp_counter(pw.b, "passive_opens") == 1);
    // Both ends went through TIME-WAIT or LAST-ACK to CLOSED once the 2 MSL passed.
    pw.w.run_for(120s);
    CHECK(pw.a.stack().tcp().connection_count() == 0);
    CHECK(pw.b.stack().tcp().connection_count() == 0);
    CHECK(pw.tcp_counter(pw.a, "curr_estab") == 0);
}
