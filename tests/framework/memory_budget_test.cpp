#include "framework/buffer/memory_budget.hpp"

#include <catch2/catch.hpp>

using namespace coronet;

namespace {
constexpr memory_limits small{.low = 30, .pressure = 40, .hard = 80, .floor = 4};
}

TEST_CASE("memory budget: limits derive from the pool less its reserve", "[memory]") {
    const auto l = memory_limits::from_pool(4096, 256);
    CHECK(l.hard == 2880);
    CHECK(l.pressure == 1920);
    CHECK(l.low == 1440);
}

TEST_CASE("memory budget: charges are per kind, visible as gauges, and given back", "[memory]") {
    counter_registry r;
    memory_budget b(r, small);
    {
        memory_charge send(&b, queue_kind::tcp_send);
        memory_charge udp(&b, queue_kind::udp_receive);
        send.set(10);
        udp.set(3);
        CHECK(b.total() == 13);
        CHECK(r.read("memory.tcp_send_buffers").value() == 10);
        CHECK(r.read("memory.udp_receive_buffers").value() == 3);
        CHECK(r.read("memory.queued_buffers").value() == 13);
        send.set(2);
        CHECK(b.held(queue_kind::tcp_send) == 2);
        memory_charge moved = std::move(send);
        CHECK(b.total() == 5);
    }
    CHECK(b.total() == 0);
    CHECK(r.read("memory.tcp_send_buffers").value() == 0);
}

TEST_CASE("memory budget: under pressure a queue grows only below its fair share, with "
          "hysteresis down to low",
          "[memory]") {
    counter_registry r;
    memory_budget b(r, small);
    memory_charge greedy(&b, queue_kind::tcp_send);
    memory_charge other(&b, queue_kind::tcp_send);
    greedy.set(38);
    CHECK(!b.under_pressure());
    CHECK(greedy.may_grow(2)); // 40: at the pressure line, not beyond
    greedy.set(41);
    CHECK(b.under_pressure());
    CHECK(r.read("memory.pressure_entered").value() == 1);
    // Two users: a share of 20 each. The greedy one may not grow; the newcomer may.
    CHECK(!greedy.may_grow());
    CHECK(other.may_grow(5)); // counts itself in: 40 / 2
    other.set(5);
    CHECK(b.fair_share() == 20);
    CHECK(other.may_grow(15));
    CHECK(!other.may_grow(16));
    CHECK(r.read("memory.pressure_refusals").value() == 2);
    // Still under pressure above low (30), free again at or below it.
    greedy.set(26);
    CHECK(b.under_pressure());
    greedy.set(25);
    CHECK(!b.under_pressure());
    CHECK(greedy.may_grow(5));
}

TEST_CASE("memory budget: at the hard limit only the floor is granted", "[memory]") {
    counter_registry r;
    memory_budget b(r, memory_limits{.low = 10, .pressure = 50, .hard = 50, .floor = 4});
    memory_charge big(&b, queue_kind::tcp_receive);
    memory_charge small_one(&b, queue_kind::tcp_out_of_order);
    big.set(50);
    CHECK(!big.may_grow());
    CHECK(r.read("memory.hard_refusals").value() == 1);
    CHECK(small_one.may_grow(4)); // the floor
    CHECK(!small_one.may_grow(5));
    CHECK(memory_charge().may_grow(1000)); // no budget: no limit
}

TEST_CASE("memory budget: a refused queue learns whether it is beyond its share; the hard limit "
          "is visible; reassembly and ARP have gauges of their own",
          "[memory]") {
    counter_registry r;
    memory_budget b(r, small);
    memory_charge fragments(&b, queue_kind::ipv4_reassembly);
    memory_charge pending(&b, queue_kind::arp_pending);
    fragments.set(35);
    pending.set(6);
    CHECK(r.read("memory.ipv4_reassembly_buffers").value() == 35);
    CHECK(r.read("memory.arp_pending_buffers").value() == 6);
    // Under pressure, two users: a share of 20. Reassembly is the one to give way.
    CHECK(b.under_pressure());
    CHECK(!fragments.may_grow());
    CHECK(fragments.beyond_share());
    CHECK(!pending.beyond_share(14));
    CHECK(pending.beyond_share(15));
    CHECK(!b.at_hard_limit());
    pending.set(45);
    CHECK(b.at_hard_limit());
    // Refused at the hard limit while within its share: someone else holds the host.
    memory_charge newcomer(&b, queue_kind::tcp_send);
    newcomer.set(5);
    CHECK(!newcomer.may_grow());
    CHECK(!newcomer.beyond_share());            // 6 of a share of 40 / 3
    CHECK(!memory_charge().beyond_share(1000)); // no budget: no share
}

TEST_CASE("memory budget: inconsistent limits are a start-up failure", "[memory]") {
    counter_registry r;
    CHECK_THROWS_AS(memory_budget(r, memory_limits{.low = 5, .pressure = 4, .hard = 10}),
                    std::invalid_argument);
}

TEST_CASE("memory budget: room is what may_grow still grants", "[memory]") {
    counter_registry r;
    memory_budget b(r, small); // low 30, pressure 40, hard 80, floor 4
    memory_charge greedy(&b, queue_kind::tcp_receive);
    memory_charge other(&b, queue_kind::tcp_receive);
    greedy.set(20);
    CHECK(greedy.room() == memory_budget::no_limit); // not under pressure
    greedy.set(41);
    other.set(2);
    // Two users, a share of 20: the greedy one has none left, the other 18.
    CHECK(greedy.room() == 0);
    CHECK(other.room() == 18);
    CHECK(other.may_grow(18));
    CHECK(!other.may_grow(19));
    // Near the hard limit, what is left of it; never less than the floor.
    greedy.set(75);
    CHECK(other.room() == 3);
    greedy.set(80);
    CHECK(other.room() == 2); // the floor of 4, less the 2 it holds
    CHECK(memory_charge().room() == memory_budget::no_limit);
}
