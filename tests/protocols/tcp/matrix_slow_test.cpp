// The data-integrity matrix (slow: release only, `scripts/test --slow`): 64 MiB each way
// between two simulated hosts for every loss rate from 0 to 10 %, under each option set
// (everything negotiated with CUBIC or NewReno; without SACK; without timestamps; without
// window scaling; with nothing), and under duplication, reordering and corruption. The bytes
// each side reads must hash equal to what the other wrote; every cell also ends with both
// connections closed and nothing left in the tables.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

constexpr std::size_t megabytes_64 = std::size_t{64} << 20;

struct options_set {
    const char* name;
    bool sack, timestamps, scaling;
    tcp::congestion_algorithm cc;
};

constexpr options_set option_sets[] = {
    {"all options, CUBIC", true, true, true, tcp::congestion_algorithm::cubic},
    {"all options, NewReno", true, true, true, tcp::congestion_algorithm::newreno},
    {"no SACK", false, true, true, tcp::congestion_algorithm::cubic},
    {"no timestamps", true, false, true, tcp::congestion_algorithm::cubic},
    {"no window scaling", true, true, false, tcp::congestion_algorithm::newreno},
    {"nothing negotiated", false, false, false, tcp::congestion_algorithm::newreno},
};

void run_cell(const options_set& o, fault_config faults, std::uint64_t seed) {
    tcp::config c;
    c.sack = o.sack;
    c.timestamps = o.timestamps;
    c.window_scaling = o.scaling;
    c.congestion = o.cc;
    pair_world pw(faults, c, seed);
    const auto ab = pattern(megabytes_64, static_cast<std::uint32_t>(seed));
    const auto ba = pattern(megabytes_64, static_cast<std::uint32_t>(seed + 1000));
    const auto r = transfer(pw, ab, ba);
    CHECK(r.client_ok);
    CHECK(r.server_ok);
    CHECK(r.client_error == 0);
    CHECK(r.server_error == 0);
    CHECK(r.at_server.size() == ab.size());
    CHECK(r.at_client.size() == ba.size());
    CHECK(fnv1a(r.at_server) == fnv1a(ab));
    CHECK(fnv1a(r.at_client) == fnv1a(ba));
    if (fnv1a(r.at_server) != fnv1a(ab)) CHECK(first_difference(r.at_server, ab) == ab.size());
    if (fnv1a(r.at_client) != fnv1a(ba)) CHECK(first_difference(r.at_client, ba) == ba.size());
    if (faults.loss > 0) CHECK(pw.tcp_counter(pw.a, "retrans_segs") > 0);
    if (faults.corrupt > 0)
        CHECK(pw.tcp_counter(pw.a, "in_csum_errors") + pw.tcp_counter(pw.b, "in_csum_errors") > 0);
    // The active closer (whoever finished last) may sit in TIME-WAIT; let it end. Its 2 MSL
    // (60 s) restart with every retransmission of the peer's FIN that reaches it (RFC 9293
    // §3.10.7.4: the ACK of the FIN was lost), so TIME-WAIT ends 60 s after the last one, not
    // after the transfer: in "no SACK, loss 10 %" the FIN is lost twice, then two of the
    // ACKs of it, and the last of its retransmissions arrives 2.4 s after the first. The
    // peer in LAST-ACK backs off from its RTO (200 ms here): 5 minutes hold ten
    // retransmissions and the 2 MSL after the last (205 s + 60 s); a connection left for
    // good still fails here.
    auto& tcp_a = pw.a.stack().tcp();
    auto& tcp_b = pw.b.stack().tcp();
    pw.w.run_until([&] { return tcp_a.connection_count() == 0 && tcp_b.connection_count() == 0; }, 300s);
    CHECK(tcp_a.connection_count() == 0);
    CHECK(tcp_b.connection_count() == 0);
}

} // namespace

TEST_CASE("tcp matrix: 64 MiB each way, loss 0 to 10 %, every option set", "[tcp][matrix][slow]") {
    const double loss = GENERATE(0.0, 0.01, 0.02, 0.05, 0.10);
    for (const auto& o : option_sets) {
        SECTION(std::string(o.name) + ", loss " + std::to_string(static_cast<int>(loss * 100)) + " %") {
            run_cell(o, {.loss = loss}, 11);
        }
    }
}

TEST_CASE("tcp matrix: 64 MiB each way under duplication, reordering and corruption",
          "[tcp][matrix][slow]") {
    struct fault_cell {
        const char* name;
        fault_config faults;
    };
    const fault_cell cells[] = {
        {"duplication 5 %", {.duplicate = 0.05}},
        {"reordering 5 %", {.reorder = 0.05}},
        {"corruption 2 %", {.corrupt = 0.02}},
        {"all at once, with 2 % loss", {.loss = 0.02, .duplicate = 0.02, .reorder = 0.02, .corrupt = 0.01}},
    };
    for (const auto& cell : cells) {
        for (const auto& o : {option_sets[0], option_sets[5]}) {
            SECTION(std::string(cell.name) + ", " + o.name) { run_cell(o, cell.faults, 23); }
        }
    }
}
