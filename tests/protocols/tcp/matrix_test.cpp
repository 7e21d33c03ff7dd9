// A few cells of the data-integrity matrix at 4 MiB each way, for the normal suite: loss,
// duplication, reordering and corruption with the options switched on and off and both
// congestion controls. What each side reads must hash equal to what the other wrote.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

struct cell {
    const char* name;
    fault_config faults;
    bool sack, timestamps, scaling;
    tcp::congestion_algorithm cc;
};

} // namespace

TEST_CASE("tcp matrix: 4 MiB each way, intact, in a few cells of the 64 MiB matrix",
          "[tcp][matrix]") {
    using algo = tcp::congestion_algorithm;
    const cell cells[] = {
        {"clean, everything negotiated, CUBIC", {}, true, true, true, algo::cubic},
        {"loss 2%, everything negotiated, NewReno", {.loss = 0.02}, true, true, true, algo::newreno},
        {"loss 5%, no SACK, CUBIC", {.loss = 0.05}, false, true, true, algo::cubic},
        {"loss 1%, duplication, reordering, corruption, no timestamps, no scaling",
         {.loss = 0.01, .duplicate = 0.02, .reorder = 0.02, .corrupt = 0.01},
         true, false, false, algo::newreno},
        {"loss 10%, nothing negotiated, NewReno", {.loss = 0.10}, false, false, false, algo::newreno},
    };
    for (const auto& c : cells) {
        SECTION(c.name) {
            tcp::config cfg;
            cfg.sack = c.sack;
            cfg.timestamps = c.timestamps;
            cfg.window_scaling = c.scaling;
            cfg.congestion = c.cc;
            pair_world pw(c.faults, cfg, 17);
            const auto ab = pattern(4 << 20, 31), ba = pattern(4 << 20, 32);
            auto r = transfer(pw, ab, ba);
            CHECK(r.client_ok);
            CHECK(r.server_ok);
            CHECK(r.at_server.size() == ab.size());
            CHECK(r.at_client.size() == ba.size());
            CHECK(fnv1a(r.at_server) == fnv1a(ab));
            CHECK(fnv1a(r.at_client) == fnv1a(ba));
            CHECK(pw.tcp_counter(pw.a, "estab_resets") + pw.tcp_counter(pw.b, "estab_resets") == 0);
            if (c.faults.loss > 0) CHECK(pw.tcp_counter(pw.a, "retrans_segs") > 0);
        }
    }
}
