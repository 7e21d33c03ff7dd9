#include "framework/buffer/buffer_pool.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

#include "tests/framework/lifetime_counter.hpp"

using namespace coronet;

namespace {

constexpr buffer_pool_options small{.buffer_size = 256, .buffer_count = 4, .slice_count = 8};

} // namespace

TEST_CASE("a pool carves its buffers from one page-aligned region", "[pool]") {
    buffer_pool pool(small);
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    CHECK(reinterpret_cast<std::uintptr_t>(pool.region().data()) % page == 0);
    CHECK(pool.region().size() == 4 * 256);
    CHECK(pool.buffer_size() == 256);
    CHECK(pool.buffer_count() == 4);
    CHECK(pool.slices().capacity() == 8);
    for (std::uint32_t i = 0; i < 4; ++i) {
        CHECK(pool.data(i).data() == pool.region().data() + i * 256);
        CHECK(pool.data(i).size() == 256);
        CHECK(pool.index_of(pool.data(i).data()).value() == i);
        CHECK(pool.index_of(pool.data(i).data() + 255).value() == i);
    }
    CHECK(pool.index_of(pool.region().data() + pool.region().size()).error() == EFAULT);
    int outside = 0;
    CHECK(pool.index_of(&outside).error() == EFAULT);
}

TEST_CASE("the default pool has 2048-byte buffers and two descriptors per buffer", "[pool]") {
    buffer_pool pool;
    CHECK(pool.buffer_size() == 2048);
    CHECK(pool.slices().capacity() == 2 * pool.buffer_count());
}

TEST_CASE("bad pool options are start-up failures", "[pool]") {
    CHECK_THROWS_AS(buffer_pool({.buffer_size = 0}), std::invalid_argument);
    CHECK_THROWS_AS(buffer_pool({.buffer_size = 100}), std::invalid_argument);
    CHECK_THROWS_AS(buffer_pool({.buffer_size = 256, .buffer_count = 0}), std::invalid_argument);
}

TEST_CASE("allocating every buffer, then exhaustion is ENOBUFS, counted", "[pool]") {
    buffer_pool pool(small);
    std::vector<buffer_ref> held;
    std::set<std::uint32_t> indices;
    for (int i = 0; i < 4; ++i) {
        auto b = pool.allocate();
        REQUIRE(b);
        CHECK(b->use_count() == 1);
        CHECK(b->pool() == &pool);
        indices.insert(b->index());
        held.push_back(std::move(*b));
    }
    CHECK(indices.size() == 4);
    CHECK(pool.in_use() == 4);
    CHECK(pool.available() == 0);
    CHECK(pool.high_water() == 4);

    auto none = pool.allocate();
    CHECK(none.error() == ENOBUFS);
    CHECK(pool.allocate().error() == ENOBUFS);
    CHECK(pool.allocation_failures() == 2);
    CHECK(pool.in_use() == 4);

    SECTION("releases make buffers available again") {
        const auto freed = held[2].index();
        held[2].reset();
        CHECK(pool.in_use() == 3);
        auto again = pool.allocate();
        REQUIRE(again);
        CHECK(again->index() == freed); // LIFO: the buffer freed last comes back first
        CHECK(pool.high_water() == 4);
    }
    held.clear();
    CHECK(pool.in_use() == 0);
    CHECK(pool.available() == 4);
}

TEST_CASE("the default reserve is 1/16 of the pool, at least 64, at most a quarter", "[pool]") {
    CHECK(buffer_pool(buffer_pool_options{.buffer_count = 4096}).reserve() == 256);
    CHECK(buffer_pool(buffer_pool_options{.buffer_count = 512}).reserve() == 64);
    CHECK(buffer_pool(buffer_pool_options{.buffer_count = 100}).reserve() == 25);
    CHECK(buffer_pool(small).reserve() == 1);
    CHECK(buffer_pool(buffer_pool_options{.buffer_count = 16, .reserve = 0}).reserve() == 0);
    CHECK_THROWS_AS(buffer_pool(buffer_pool_options{.buffer_count = 16, .reserve = 16}),
                    std::invalid_argument);
}

TEST_CASE("queues never take the reserve; control allocations and ring refills do, counted",
          "[pool]") {
    buffer_pool pool(buffer_pool_options{.buffer_size = 256, .buffer_count = 8, .reserve = 3});
    std::vector<buffer_ref> queued;
    for (int i = 0; i < 5; ++i) {
        auto b = pool.allocate(buffer_use::queue);
        REQUIRE(b);
        queued.push_back(std::move(*b));
    }
    CHECK(pool.available() == 3);
    CHECK(pool.allocate(buffer_use::queue).error() == ENOBUFS);
    CHECK(pool.reserve_refusals() == 1);
    CHECK(pool.allocation_failures() == 1);
    CHECK(pool.reserve_allocations() == 0);

    // An ACK and a ring refill still find a buffer.
    auto ack = pool.allocate();
    REQUIRE(ack);
    auto ring = pool.lend();
    REQUIRE(ring);
    CHECK(pool.reserve_allocations() == 2);
    CHECK(pool.allocate(buffer_use::queue).error() == ENOBUFS);
    CHECK(pool.reserve_refusals() == 2);

    // Once a queue lets go of one buffer above the reserve, queues may take it again.
    pool.recycle(*ring);
    ack->reset();
    queued.pop_back();
    CHECK(pool.available() == 4);
    auto again = pool.allocate(buffer_use::queue);
    CHECK(again);
    CHECK(pool.allocate(buffer_use::queue).error() == ENOBUFS);
}

TEST_CASE("buffer_ref counts copies and moves", "[pool]") {
    buffer_pool pool(small);
    {
        auto a = pool.allocate().value();
        std::byte* bytes = a.data().data();
        CHECK(a.data().size() == 256);
        buffer_ref b = a; // copy: +1
        CHECK(a.use_count() == 2);
        buffer_ref c = std::move(b); // move: no change, b empty
        CHECK(!b);
        CHECK(b.use_count() == 0);
        CHECK(b.data().empty());
        CHECK(c.use_count() == 2);
        CHECK(c.data().data() == bytes);
        const buffer_ref& same = c;
        c = same; // self-assignment keeps the count
        CHECK(c.use_count() == 2);
        buffer_ref d;
        d = a;
        CHECK(a.use_count() == 3);
        d = std::move(c);
        CHECK(a.use_count() == 2);
        a.reset();
        CHECK(pool.in_use() == 1);
        CHECK(d.use_count() == 1);
    }
    CHECK(pool.in_use() == 0);
    CHECK(pool.available() == 4);
}

TEST_CASE("a release hook receives the buffer instead of the free list", "[pool]") {
    buffer_pool pool(small);
    std::vector<std::uint32_t> released;
    pool.on_release([&](std::uint32_t i) { released.push_back(i); });

    auto a = pool.allocate().value();
    const auto index = a.index();
    auto copy = a;
    a.reset();
    CHECK(released.empty()); // not the last reference
    copy.reset();
    REQUIRE(released == std::vector<std::uint32_t>{index});
    CHECK(pool.in_use() == 0);
    CHECK(pool.lent() == 1); // the driver has it now, not the free list
    CHECK(pool.available() == 3);

    // The driver re-posted it; the NIC fills it and the driver adopts it.
    auto filled = pool.adopt(index);
    CHECK(filled.index() == index);
    CHECK(filled.use_count() == 1);
    CHECK(pool.lent() == 0);
    CHECK(pool.in_use() == 1);
    filled.reset();
    CHECK(released.size() == 2);

    // At shutdown the driver gives its lent buffers back.
    pool.on_release({});
    pool.recycle(index);
    CHECK(pool.lent() == 0);
    CHECK(pool.available() == 4);
}

TEST_CASE("a hook with no room recycles the buffer to the free list", "[pool]") {
    buffer_pool pool(small);
    pool.on_release([&](std::uint32_t i) { pool.recycle(i); });
    pool.allocate().value().reset();
    CHECK(pool.lent() == 0);
    CHECK(pool.available() == 4);
}

TEST_CASE("a driver lends buffers to the NIC and adopts them when filled", "[pool]") {
    buffer_pool pool(small);
    std::vector<std::uint32_t> posted;
    for (int i = 0; i < 4; ++i)
        posted.push_back(pool.lend().value());
    CHECK(pool.lend().error() == ENOBUFS);
    CHECK(pool.allocation_failures() == 1);
    CHECK(pool.lent() == 4);
    CHECK(pool.in_use() == 0);
    CHECK(pool.allocate().error() == ENOBUFS);

    // The NIC wrote a frame into the second posted buffer.
    pool.data(posted[1])[0] = std::byte{0x45};
    {
        auto frame = pool.adopt(posted[1]);
        CHECK(frame.data()[0] == std::byte{0x45});
        CHECK(pool.in_use() == 1);
        CHECK(pool.lent() == 3);
        CHECK_THROWS_AS(pool.adopt(posted[1]), std::logic_error); // already adopted
    }
    // No hook: the last release puts it on the free list.
    CHECK(pool.available() == 1);
    CHECK_THROWS_AS(pool.adopt(posted[1]), std::logic_error); // free, not lent
    CHECK_THROWS_AS(pool.recycle(posted[1]), std::logic_error);
    CHECK_THROWS_AS(pool.adopt(99), std::logic_error);
    for (auto i : posted)
        if (i != posted[1]) pool.recycle(i);
    CHECK(pool.lent() == 0);
    CHECK(pool.available() == 4);
}

TEST_CASE("the pool destroys its release hook", "[pool]") {
    lifetime_counter::reset();
    {
        buffer_pool pool(small);
        pool.on_release([probe = lifetime_counter()](std::uint32_t) { (void)probe; });
        CHECK(lifetime_counter::alive() == 1);
        pool.on_release([probe = lifetime_counter()](std::uint32_t) { (void)probe; });
        CHECK(lifetime_counter::alive() == 1); // the first hook is gone
    }
    CHECK(lifetime_counter::alive() == 0);
}
