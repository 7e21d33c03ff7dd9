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
    CHECK(r.at_server.size() == ab.size());
    CHECK(r.at_client.size() == ba.size());
    CHECK(first_difference(r.at_server, ab) == ab.size());
    CHECK(first_difference(r.at_client, ba) == ba.size());
    CHECK(pw.tcp_counter(pw.a, "retrans_segs") == 0);
    CHECK(pw.tcp_counter(pw.a, "active_opens") == 1);
    CHECK(pw.tcp_counter(pw.b, "passive_opens") == 1);
    // Both ends went through TIME-WAIT or LAST-ACK to CLOSED once the 2 MSL passed.
    pw.w.run_for(120s);
    CHECK(pw.a.stack().tcp().connection_count() == 0);
    CHECK(pw.b.stack().tcp().connection_count() == 0);
    CHECK(pw.tcp_counter(pw.a, "curr_estab") == 0);
}

TEST_CASE("tcp transfer: 1 MiB each way under loss, duplication, reordering, corruption",
          "[tcp][transfer][faults]") {
    struct variant {
        const char* name;
        fault_config faults;
        bool sack, timestamps, scaling;
        tcp::congestion_algorithm cc;
    };
    const variant variants[] = {
        {"loss 1% cubic", {.loss = 0.01}, true, true, true, tcp::congestion_algorithm::cubic},
        {"loss 5% newreno", {.loss = 0.05}, true, true, true, tcp::congestion_algorithm::newreno},
        {"loss 3% no SACK", {.loss = 0.03}, false, true, true, tcp::congestion_algorithm::newreno},
        {"loss 2% no timestamps, no scaling", {.loss = 0.02}, true, false, false,
         tcp::congestion_algorithm::cubic},
        {"dup, reorder, corrupt",
         {.loss = 0.01, .duplicate = 0.02, .reorder = 0.02, .corrupt = 0.01},
         true, true, true, tcp::congestion_algorithm::cubic},
        {"10% loss, nothing negotiated", {.loss = 0.10}, false, false, false,
         tcp::congestion_algorithm::newreno},
    };
    for (const auto& v : variants) {
        SECTION(v.name) {
            tcp::config c;
            c.sack = v.sack;
            c.timestamps = v.timestamps;
            c.window_scaling = v.scaling;
            c.congestion = v.cc;
            pair_world pw(v.faults, c, 7);
            const auto ab = pattern(1 << 20, 3), ba = pattern(1 << 20, 4);
            auto r = transfer(pw, ab, ba);
            CHECK(r.client_ok);
            CHECK(r.server_ok);
            CHECK(r.at_server.size() == ab.size());
            CHECK(r.at_client.size() == ba.size());
            CHECK(first_difference(r.at_server, ab) == ab.size());
            CHECK(first_difference(r.at_client, ba) == ba.size());
            if (v.faults.corrupt > 0)
                CHECK(pw.tcp_counter(pw.b, "in_csum_errors") + pw.tcp_counter(pw.a, "in_csum_errors") > 0);
            CHECK(pw.tcp_counter(pw.a, "retrans_segs") > 0);
        }
    }
}

TEST_CASE("tcp transfer: MTU 65535 moves 8 MiB", "[tcp][transfer]") {
    pair_world pw({}, {}, 1, 65535);
    const auto ab = pattern(8 << 20, 5);
    auto r = transfer(pw, ab, {});
    CHECK(r.at_server.size() == ab.size());
    CHECK(first_difference(r.at_server, ab) == ab.size());
    CHECK(r.at_client.empty());
}
