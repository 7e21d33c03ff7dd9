// Data integrity under one fault at a time on the wire (loss, reordering, duplication,
// corruption): what one side writes, the other reads, equal and in order.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

struct fault_case {
    const char* name;
    fault_config faults;
};

void check_one_way(const fault_case& fc, tcp::config c, std::size_t bytes) {
    INFO(fc.name);
    pair_world pw(fc.faults, c, 7);
    const auto ab = pattern(bytes, 3);
    auto r = transfer(pw, ab, {}, 600s);
    CHECK(r.client_ok);
    CHECK(r.server_ok);
    CHECK(r.at_server.size() == ab.size());
    CHECK(first_difference(r.at_server, ab) == ab.size());
}

} // namespace

TEST_CASE("tcp faults: 256 KiB one way under a single fault", "[tcp][faults]") {
    const fault_case cases[] = {
        {"loss 1%", {.loss = 0.01}},
        {"reorder 2%", {.reorder = 0.02}},
        {"duplicate 2%", {.duplicate = 0.02}},
        {"corrupt 1%", {.corrupt = 0.01}},
    };
    for (const auto& fc : cases) {
        SECTION(fc.name) { check_one_way(fc, {}, 256 << 10); }
    }
}

TEST_CASE("tcp faults: after both ends time out and rewind, their ACKs are still accepted",
          "[tcp][faults]") {
    // 5 % loss both ways with NewReno (seed 5) makes both ends time out while their ACKs are
    // lost: each rewinds SND.NXT to SND.UNA, behind the peer's RCV.NXT. Pure ACKs numbered
    // at SND.NXT were then out of window for the peer, which answered each with an ACK of its
    // own that was out of window in turn: an endless ACK exchange, neither processed, until
    // the connection timed out after 15 retransmissions.
    tcp::config c;
    c.congestion = tcp::congestion_algorithm::newreno;
    pair_world pw({.loss = 0.05}, c, 5);
    const auto ab = pattern(1 << 20, 3), ba = pattern(1 << 20, 4);
    auto r = transfer(pw, ab, ba, 600s);
    CHECK(r.client_ok);
    CHECK(r.server_ok);
    CHECK(first_difference(r.at_server, ab) == ab.size());
    CHECK(first_difference(r.at_client, ba) == ba.size());
    CHECK(pw.tcp_counter(pw.a, "timeouts") > 0);
    CHECK(pw.tcp_counter(pw.b, "timeouts") > 0);
    CHECK(pw.tcp_counter(pw.a, "estab_resets") == 0);
    // Before the fix: about 300 each, one per ACK of the exchange.
    CHECK(pw.tcp_counter(pw.a, "out_of_window") + pw.tcp_counter(pw.b, "out_of_window") < 50);
}
