// The receive and out-of-order queues charge the host's memory budget for the pool buffers
// they pin (one a slice), after every change, and give it all back; under pressure they
// refuse, and a collapse keeps every byte in fewer buffers.
#include "framework/buffer/memory_budget.hpp"
#include "protocols/tcp/reassembly.hpp"
#include "protocols/tcp/receive_buffer.hpp"
#include "tests/protocols/tcp/received_payload.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coronet;
using coronet::tcp::reassembly_queue;
using coronet::tcp::receive_buffer;
using coronet::tcp::seq32;
using coronet::tcp_test::text;

namespace {

constexpr memory_limits roomy{.low = 100, .pressure = 200, .hard = 300, .floor = 4};

struct fixture {
    buffer_pool pool{buffer_pool_options{.buffer_size = 2048, .buffer_count = 256}};
    counter_registry registry;
    counter wire;
    counter copied;

    // A received segment: its own buffer, its payload behind a 54-byte header input pulled.
    packet received(std::size_t n, std::size_t from) {
        return tcp_test::received_payload(pool, wire, n, from);
    }
    std::uint64_t gauge(const char* name) { return registry.read(name).value(); }
    std::string read_all(receive_buffer& rb) {
        std::string s(rb.size(), '\0');
        CHECK(rb.read(std::as_writable_bytes(std::span(s)), copied) == s.size());
        return s;
    }
};

} // namespace

TEST_CASE_METHOD(fixture, "receive buffer: the charge follows append, read and read_zc",
                 "[tcp][memory]") {
    memory_budget budget(registry, roomy);
    const auto in_use = pool.in_use();
    {
        receive_buffer rb(1 << 20, &budget);
        for (std::size_t i = 0; i < 5; ++i)
            rb.append(received(1000, i * 1000));
        CHECK(rb.buffers_charged() == 5);
        CHECK(gauge("memory.tcp_receive_buffers") == 5);
        rb.append(received(100, 5000)); // small: copied behind the data, no buffer more
        CHECK(rb.buffers_charged() == 5);

        std::array<std::byte, 1500> out{};
        CHECK(rb.read(out, copied) == 1500); // the first segment and half the second
        CHECK(rb.buffers_charged() == 4);
        auto lent = rb.read_zc(1000); // the rest of the second and half the third
        REQUIRE(lent);
        CHECK(rb.buffers_charged() == 3);
        CHECK(gauge("memory.tcp_receive_buffers") == 3);
        lent->reset();
        auto rest = rb.read_zc();
        REQUIRE(rest);
        CHECK(rest->length() == 2600);
        CHECK(rb.buffers_charged() == 0);
        CHECK(gauge("memory.queued_buffers") == 0);
        rb.append(received(1000, 0));
        CHECK(budget.total() == 1);
    }
    // Destroyed with data in it: everything goes back.
    CHECK(budget.total() == 0);
    CHECK(pool.in_use() == in_use);
}

TEST_CASE_METHOD(fixture,
                 "receive buffer: under pressure try_append refuses, an empty queue "
                 "always takes",
                 "[tcp][memory]") {
    memory_budget budget(registry, {.low = 4, .pressure = 6, .hard = 8, .floor = 2});
    memory_charge others(&budget, queue_kind::tcp_send);
    others.set(7); // the host is under pressure
    receive_buffer rb(1 << 20, &budget);
    auto first = received(1000, 0);
    CHECK(rb.try_append(first)); // empty: always taken
    auto second = received(1000, 1000);
    CHECK(rb.try_append(second)); // within the floor of 2
    auto third = received(1000, 2000);
    CHECK_FALSE(rb.try_append(third)); // refused: left as it was
    CHECK(third.length() == 1000);
    CHECK(rb.size() == 2000);
    CHECK(rb.buffers_charged() == 2);
    CHECK(rb.memory_room() == 0);
    others.set(0); // pressure ends below `low`
    CHECK(rb.memory_room() == memory_budget::no_limit);
    CHECK(rb.try_append(third));
    CHECK(rb.size() == 3000);
}

TEST_CASE_METHOD(fixture,
                 "receive buffer: collapse keeps every byte in fewer buffers and "
                 "lowers the charge",
                 "[tcp][memory]") {
    memory_budget budget(registry, roomy);
    const auto in_use = pool.in_use();
    receive_buffer rb(1 << 20, &budget);
    std::size_t at = 0;
    for (int i = 0; i < 20; ++i) { // 20 segments of 300 bytes: 20 buffers for 6,000 bytes
        rb.append(received(300, at));
        at += 300;
    }
    std::array<std::byte, 100> skip{};
    CHECK(rb.read(skip, copied) == 100); // a partly used first slice
    CHECK(rb.buffers_charged() == 20);
    counter collapsed;
    CHECK(rb.collapse(pool, collapsed) == 17); // 5,900 bytes fill 3 buffers of 2 KiB
    CHECK(rb.buffers_charged() == 3);
    CHECK(collapsed.value == 5900);
    CHECK(gauge("memory.tcp_receive_buffers") == 3);
    CHECK(pool.in_use() == in_use + 3);
    CHECK(rb.collapse(pool, collapsed) == 0); // as full as it gets: nothing changes
    CHECK(collapsed.value == 5900);
    CHECK(read_all(rb) == text(5900, 100));
    CHECK(budget.total() == 0);
    CHECK(pool.in_use() == in_use);
}

TEST_CASE_METHOD(fixture,
                 "receive buffer: a collapse copies only the slices less than half "
                 "full",
                 "[tcp][memory]") {
    receive_buffer rb(1 << 20);
    rb.append(received(1500, 0)); // full-sized segments: left where they are
    rb.append(received(1500, 1500));
    for (int i = 0; i < 10; ++i)
        rb.append(received(300, 3000 + static_cast<std::size_t>(i) * 300));
    CHECK(rb.buffers_charged() == 12);
    counter collapsed;
    CHECK(rb.collapse(pool, collapsed) == 8); // 3,000 bytes: 2 buffers for 10
    CHECK(collapsed.value == 3000);
    CHECK(rb.buffers_charged() == 4);
    rb.append(received(300, 6000));
    // Only the last, partly filled buffer (952 bytes) and the new slice are copied.
    CHECK(rb.collapse(pool, collapsed) == 1);
    CHECK(collapsed.value == 3000 + 952 + 300);
    CHECK(rb.buffers_charged() == 4);
    CHECK(read_all(rb) == text(6300, 0));
}

TEST_CASE_METHOD(fixture, "receive buffer: a collapse that finds no buffer changes nothing",
                 "[tcp][memory]") {
    buffer_pool tiny{buffer_pool_options{.buffer_size = 2048, .buffer_count = 4}};
    receive_buffer rb(1 << 20);
    for (int i = 0; i < 4; ++i)
        rb.append(received(600, static_cast<std::size_t>(i) * 600));
    counter collapsed;
    // The collapse copies into buffers of `tiny`, all held elsewhere but its reserve.
    std::vector<packet> held;
    while (auto p = packet::allocate(tiny, 0, buffer_use::queue))
        held.push_back(std::move(*p));
    CHECK(rb.collapse(tiny, collapsed) == 0);
    CHECK(rb.buffers_charged() == 4);
    CHECK(collapsed.value == 0);
    CHECK(read_all(rb) == text(2400, 0));
}

TEST_CASE_METHOD(fixture, "reassembly: the charge follows offer, pop and clear", "[tcp][memory]") {
    memory_budget budget(registry, roomy);
    const auto in_use = pool.in_use();
    {
        using offer = reassembly_queue::offer_result;
        reassembly_queue q(1 << 20, &budget);
        const seq32 base{1000};
        CHECK(q.offer(base + 1000, received(500, 1000), base) == offer::queued);
        CHECK(q.offer(base + 2000, received(500, 2000), base) == offer::queued);
        CHECK(q.offer(base + 1500, received(500, 1500), base) == offer::queued); // joins both
        CHECK(q.block_count() == 1);
        CHECK(q.buffers_charged() == 3);
        CHECK(gauge("memory.tcp_out_of_order_buffers") == 3);
        CHECK(q.offer(base + 1200, received(100, 1200), base) == offer::duplicate);
        CHECK(q.buffers_charged() == 3);
        CHECK(q.offer(base + 4000, received(100, 4000), base) == offer::queued);
        CHECK(q.buffers_charged() == 4);
        CHECK_FALSE(q.pop(base));
        CHECK(q.buffers_charged() == 4);
        auto run = q.pop(base + 1200); // in-order data passed the block's start
        REQUIRE(run);
        CHECK(run->length() == 1300);
        CHECK(q.buffers_charged() == 1);
        CHECK(gauge("memory.tcp_out_of_order_buffers") == 1);
        run->reset();
        q.clear();
        CHECK(q.buffers_charged() == 0);
        CHECK(q.offer(base + 4000, received(100, 4000), base) == offer::queued);
    }
    CHECK(budget.total() == 0);
    CHECK(pool.in_use() == in_use);
}

TEST_CASE_METHOD(fixture, "reassembly: under pressure new out-of-order data is dropped",
                 "[tcp][memory]") {
    using offer = reassembly_queue::offer_result;
    memory_budget budget(registry, {.low = 4, .pressure = 6, .hard = 8, .floor = 2});
    memory_charge others(&budget, queue_kind::tcp_send);
    others.set(7);
    reassembly_queue q(1 << 20, &budget);
    const seq32 base{0};
    CHECK(q.offer(base + 1000, received(100, 1000), base) == offer::queued); // the floor
    CHECK(q.offer(base + 2000, received(100, 2000), base) == offer::queued);
    CHECK(q.offer(base + 3000, received(100, 3000), base) == offer::no_memory);
    CHECK(q.stats().segments_refused_memory == 1);
    CHECK(q.buffers_charged() == 2);
    CHECK(q.ranges().size() == 2);
    // Bytes it holds already are no new memory: a duplicate, not a drop.
    CHECK(q.offer(base + 1000, received(100, 1000), base) == offer::duplicate);
    CHECK(q.stats().segments_refused_memory == 1);
}
