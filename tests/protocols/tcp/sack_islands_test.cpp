// A receiver that SACKs scattered 1-byte islands of a large flight (the attack of
// CVE-2018-5390 / CVE-2019-11478): each of its ACKs must cost the sender a bounded amount of
// scoreboard work, not O(flight), and the transfer must still complete byte-exact once it
// acknowledges properly. The test plays the receiver: it keeps every byte the sender sent
// (every segment arrives), and acknowledges what it chooses.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

constexpr std::uint32_t total = 12u << 20; // slow start takes about 2 * flight first
constexpr std::uint32_t flight = 4u << 20;

std::vector<std::byte> data_pattern() {
    std::vector<std::byte> v(total);
    std::uint32_t x = 7;
    for (auto& b : v) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::byte>(x >> 24);
    }
    return v;
}

// The receiver's copy of the stream: every segment sent is kept at its offset.
struct receiver {
    trace& t;
    std::vector<std::byte> got = std::vector<std::byte>(total);
    std::vector<bool> have = std::vector<bool>(total);
    std::uint32_t contiguous = 0; // stream offset of the first byte not held
    std::uint64_t bytes_seen = 0; // payload bytes of every segment, retransmissions too
    void take_all() {
        while (!t.quiet()) {
            const auto s = t.take();
            const std::uint32_t off = s.h.sequence - t.iss - 1;
            bytes_seen += s.payload.size();
            for (std::size_t i = 0; i < s.payload.size() && off + i < total; ++i) {
                got[off + i] = s.payload[i];
                have[off + i] = true;
            }
        }
        while (contiguous < total && have[contiguous])
            ++contiguous;
    }
    // An ACK of everything held; the window field 65535 << 7.
    void ack(tcp::options o = {}) {
        t.in({.flags = A, .seq = 1, .ack = 1 + contiguous, .opts = o});
    }
};

} // namespace

TEST_CASE("tcp sack: 1-byte islands SACKed across a 4 MiB flight cost each ACK a bounded "
          "scoreboard work; the transfer completes byte-exact",
          "[tcp][sack][adversarial]") {
    tcp::config c = trace_config();
    c.send_buffer = flight + (1u << 20);
    trace t(c);
    t.connect();
    auto syn = t.take();
    t.iss = syn.h.sequence;
    t.local_port = syn.h.source_port.value();
    tcp::options o = trace::mss(1460);
    o.sack_permitted = true;
    o.window_scale = 7; // 65535 << 7: an 8 MiB window
    t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = o});
    (void)t.take();
    const auto data = data_pattern();
    t.app->spawn([&]() -> task<void> { (void)co_await t.app->write_all(t.conn, data); });
    t.settle();

    // Slow start, one ACK per segment, until 4 MiB are in flight.
    receiver rx{t};
    std::uint32_t acked = 0;
    auto outstanding = [&] { return tcp::distance(t.sock()->snd_una(), t.sock()->snd_nxt()); };
    // The stream offset of SND.UNA.
    auto una_offset = [&] { return tcp::distance(tcp::seq32{t.iss + 1}, t.sock()->snd_una()); };
    while (outstanding() < flight) {
        std::vector<std::uint32_t> ends;
        for (const auto& s : t.sent)
            ends.push_back(s.h.sequence - t.iss - 1 + s.h.payload_length);
        rx.take_all();
        t.run_for(10ms);
        for (const auto e : ends) {
            if (e - acked >= flight) break; // leave the rest in flight
            acked = e;
            t.in({.flags = A, .seq = 1, .ack = 1 + acked});
        }
        REQUIRE(rx.contiguous < total);
    }
    rx.take_all();
    const std::uint32_t una = una_offset();
    const std::uint32_t in_flight = outstanding();
    REQUIRE(in_flight >= flight);

    // 3,000 duplicate ACKs at SND.UNA, each SACKing four new 1-byte islands scattered over
    // the flight (even offsets, so no two touch).
    constexpr int attack_acks = 3000;
    const auto steps_before = t.counter("sack_scoreboard_steps");
    const auto seen_before = rx.bytes_seen;
    std::uint32_t k = 0;
    for (int i = 0; i < attack_acks; ++i) {
        tcp::options s;
        for (std::size_t j = 0; j < tcp::max_sack_blocks; ++j, ++k) {
            const std::uint32_t at = una + 2 + (k * 2654435761u) % (in_flight / 2 - 1) * 2;
            s.sack_blocks[j] = tcp::sack_block{t.iss + 1 + at, t.iss + 2 + at};
        }
        s.sack_count = tcp::max_sack_blocks;
        t.in({.flags = A, .seq = 1, .ack = 1 + una, .opts = s});
        rx.take_all(); // the retransmissions arrive too
    }
    const auto steps = t.counter("sack_scoreboard_steps") - steps_before;
    const auto rx_retransmitted_bytes = rx.bytes_seen - seen_before;
    const auto max_per_ack = t.counter("sack_scoreboard_ack_steps_max");
    INFO("scoreboard steps: " << steps << " over " << attack_acks << " ACKs, at most "
                              << max_per_ack << " for one; runs forgotten "
                              << t.counter("sack_runs_forgotten") << "; retransmitted "
                              << t.counter("retrans_segs") << " segments, "
                              << rx_retransmitted_bytes << " bytes");
    CHECK(t.counter("sack_recoveries") == 1);
    // No amplification: recovery sends what cwnd and pipe allow, fewer segments than ACKs.
    CHECK(t.counter("retrans_segs") <= attack_acks);
    CHECK(t.counter("sack_runs_forgotten") > 10000);
    CHECK(t.sock()->sack_board()->runs().size() <= tcp::sack_scoreboard::default_max_runs);
    CHECK(max_per_ack <= 20 * tcp::sack_scoreboard::default_max_runs);
    CHECK(steps <= attack_acks * 20ull * tcp::sack_scoreboard::default_max_runs);

    // The receiver now acknowledges what it holds: everything is delivered, byte-exact.
    for (int round = 0; round < 100000 && rx.contiguous < total; ++round) {
        rx.ack();
        t.run_for(10ms);
        rx.take_all();
    }
    REQUIRE(rx.contiguous == total);
    CHECK(std::equal(rx.got.begin(), rx.got.end(), data.begin(), data.end()));
    rx.ack();
    CHECK(una_offset() == total);
}
