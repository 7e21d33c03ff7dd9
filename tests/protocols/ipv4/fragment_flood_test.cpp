// Incomplete fragments by the thousand against the host's memory budget (reassembly.hpp):
// a flood of first and middle fragments of datagrams that never complete, from thousands
// of sources, while B sends whole fragmented datagrams; and a host that other queues fill,
// where a datagram not yet begun gives way to those nearly complete. The budget is set
// small (pressure at 512 buffers) so that it, not the 4 MiB byte cap, is what binds; after
// each, once the timers have run, the pool is whole again and nothing is charged.
#include "tests/protocols/ipv4/fragment_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;
using namespace coronet::fragment_test;
using namespace std::chrono_literals;

namespace {

constexpr memory_limits small_budget{.low = 384, .pressure = 512, .hard = 768};

// Host A with the small budget, its socket on port 9, and what its pool lent before.
struct budget_fixture : fixture {
    receiver r{a};
    std::uint32_t in_use_before = w.pool.in_use();
    budget_fixture() : fixture(options()) {}
    static native::options options() {
        native::options o;
        o.memory = small_budget;
        return o;
    }
    std::uint64_t reassembly_buffers() const { return a.counter("memory.ipv4_reassembly_buffers"); }
};

} // namespace

TEST_CASE("ipv4 memory: a flood of fragments that never complete stays within reassembly's "
          "share, a sender whose fragments come together is served, and the pool is whole "
          "once they time out",
          "[ipv4][reassembly][memory][adversarial]") {
    budget_fixture t;
    const auto good = pattern(3000);
    const auto good_frames = fragments_from_b(udp_datagram(ip_b, ip_a, 4000, 9, good), 1480, 1);
    const auto junk = udp_datagram(ip_b, ip_a, 4000, 9, pattern(3000));

    constexpr int attackers = 4000; // datagrams, each from a source of its own
    int sent_good = 0;
    int served = 0;
    std::uint64_t most_held = 0;
    for (int i = 0; i < attackers; ++i) {
        // Off-link sources (no route back: no ICMP time exceeded to send when they expire).
        const ipv4_address source(172, 16, static_cast<std::uint8_t>(i / 250),
                                  static_cast<std::uint8_t>(i % 250 + 1));
        const auto frames = fragments(source, junk, 1000, static_cast<std::uint16_t>(i));
        t.inject(frames[0]); // the first and a middle one; the last never comes
        t.inject(frames[1]);
        t.w.settle();
        most_held = std::max(most_held, t.reassembly_buffers());
        if (i % 100 == 99) {
            for (const auto& f : good_frames)
                t.inject(f);
            t.w.settle();
            ++sent_good;
            served += t.r.take() == good;
        }
    }
    INFO("reassembly held " << most_held << " buffers at the most");
    CHECK(served == sent_good);
    CHECK(sent_good == attackers / 100);
    CHECK(most_held > 400);                    // the flood filled reassembly's share...
    CHECK(most_held <= small_budget.pressure); // ...and no more (its only user: all of pressure)
    CHECK(t.a.counter("ipv4.reasm_pressure_evictions") > 3000);
    CHECK(t.a.counter("ipv4.reasm_pressure_drops") == 0);   // nothing else held the host
    CHECK(t.a.counter("ipv4.reasm_memory_evictions") == 0); // the byte cap never bound
    CHECK(t.a.counter("ipv4.reasm_oks") == static_cast<std::uint64_t>(sent_good));
    CHECK(t.a.counter("memory.pressure_refusals") > 3000);

    // Those left time out (30 s), and everything they pinned comes back.
    const std::size_t left = t.a.stack.reassembly().datagrams();
    CHECK(left > 200);
    t.w.advance(31s);
    CHECK(t.a.stack.reassembly().datagrams() == 0);
    CHECK(t.a.counter("ipv4.reasm_timeout") == left);
    CHECK(t.reassembly_buffers() == 0);
    CHECK(t.a.counter("memory.queued_buffers") == 0);
    t.a.card.sent.clear();
    CHECK(t.w.pool.in_use() == t.in_use_before);
}

TEST_CASE("ipv4 memory: when other queues hold the host at its hard limit, a fragment that "
          "would begin a datagram is dropped and counted, and the datagrams begun complete",
          "[ipv4][reassembly][memory]") {
    budget_fixture t;
    const auto data = pattern(3000);
    const auto whole = udp_datagram(ip_b, ip_a, 4000, 9, data);
    // 20 datagrams begun, two fragments of three each: 40 buffers, beyond the floor of 8.
    for (std::uint16_t id = 1; id <= 20; ++id) {
        const auto frames = fragments_from_b(whole, 1480, id);
        t.inject(frames[0]);
        t.inject(frames[1]);
    }
    t.w.settle();
    REQUIRE(t.reassembly_buffers() == 40);

    // Other queues take the host to its hard limit (a charge standing in for them).
    memory_charge others(t.a.stack.memory(), queue_kind::tcp_send);
    others.set(small_budget.hard);
    REQUIRE(t.a.stack.memory()->at_hard_limit());

    // A new datagram: its fragments are dropped, nothing of it is held.
    for (const auto& f : fragments_from_b(whole, 1480, 100))
        t.inject(f);
    t.w.settle();
    CHECK(t.a.counter("ipv4.reasm_pressure_drops") == 3);
    CHECK(t.a.stack.reassembly().datagrams() == 20);
    CHECK(t.r.take().empty());

    // The datagrams begun complete (each read before the next: the socket's queue is
    // charged too, and only its first datagram is taken at the hard limit).
    int completed = 0;
    for (std::uint16_t id = 1; id <= 20; ++id) {
        t.inject(fragments_from_b(whole, 1480, id)[2]);
        t.w.settle();
        completed += t.r.take() == data;
    }
    CHECK(completed == 20);
    CHECK(t.a.counter("ipv4.reasm_pressure_evictions") == 0);
    CHECK(t.reassembly_buffers() == 0);

    // Once the others let go, a new datagram is taken again.
    others.set(0);
    for (const auto& f : fragments_from_b(whole, 1480, 101))
        t.inject(f);
    t.w.settle();
    CHECK(t.r.take() == data);
    CHECK(t.a.counter("ipv4.reasm_pressure_drops") == 3);
    CHECK(t.a.counter("memory.queued_buffers") == 0);
    CHECK(t.w.pool.in_use() == t.in_use_before);
}
