// Copy-break (tap_options::copy_below): a frame no longer than the limit is copied into a
// buffer of the copy pool and its receive buffer re-posted at once, so frames the application
// holds do not hold the ring's (64 KiB, with TSO) buffers; a longer frame, or one that finds
// the copy pool empty, stays zero-copy in its own buffer, and nothing is dropped either way.
#include "tests/integration/tap_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::test;

namespace {

// A frame to coronet of `payload` bytes numbered `n` (its first byte), local experimental type.
bytes numbered_frame(int n, std::size_t payload = 46) {
    bytes p(payload, std::byte{0x5a});
    p[0] = std::byte(n);
    return ethernet_frame(kernel_mac, coronet_mac, ethernet::ethertype{0x88b5}, p);
}

int number(const packet& p) { return std::to_integer<int>(contents(p)[ethernet::header_length]); }

tap_options copying(buffer_pool& copies, std::uint32_t copy_below) {
    auto o = test_options();
    o.rx_buffers = 4;
    o.copy_pool = &copies;
    o.copy_below = copy_below;
    return o;
}

// A NIC of four receive buffers copying frames up to `copy_below` into a pool of 64, and
// the kernel's raw sender onto its wire.
struct copy_world {
    explicit copy_world(std::uint32_t copy_below)
        : w(copying(copies, copy_below), {.buffer_size = 2048, .buffer_count = 4}),
          kernel(w.nic->device().ifindex()) {}
    buffer_pool copies{{.buffer_size = 2048, .buffer_count = 64}};
    tap_world w;
    kernel_raw_sender kernel;
};

} // namespace

TEST_CASE("small frames are copied out and their receive buffers re-posted at once",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    copy_world cw(1500);
    auto& copies = cw.copies;
    auto& w = cw.w;
    auto& kernel = cw.kernel;

    // Ten frames, in bursts the ring holds, while the test holds every one: without the
    // copies four buffers would have run dry at the fifth (tap_exhaustion).
    for (int n = 0; n < 10; n += 2) {
        kernel.send(numbered_frame(n));
        kernel.send(numbered_frame(n + 1));
        REQUIRE(w.pump_until([&] { return w.catcher.frames.size() == std::size_t(n) + 2; }));
    }
    CHECK(w.counter("rx_copied") == 10);
    CHECK(w.counter("rx_dropped_no_buffer") == 0);
    CHECK(w.nic->rx_posted() == 4);
    for (int n = 0; n < 10; ++n) {
        const auto& f = w.catcher.frames[static_cast<std::size_t>(n)];
        CHECK(number(f) == n);
        CHECK(f.pool() == &copies);
        CHECK(contents(f) == numbered_frame(n));
    }
    CHECK(copies.in_use() == 10);
    w.catcher.frames.clear();
    CHECK(copies.in_use() == 0);
}

TEST_CASE("a frame longer than copy_below stays in its receive buffer, zero-copy",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    copy_world cw(100);
    auto& copies = cw.copies;
    auto& w = cw.w;
    auto& kernel = cw.kernel;

    kernel.send(numbered_frame(1, 86));  // 100 bytes with its Ethernet header: copied
    kernel.send(numbered_frame(2, 87));  // 101: not
    kernel.send(numbered_frame(3, 900)); // not
    REQUIRE(w.pump_until([&] { return w.catcher.frames.size() == 3; }));
    CHECK(w.counter("rx_copied") == 1);
    CHECK(w.catcher.frames[0].pool() == &copies);
    CHECK(w.catcher.frames[1].pool() == &w.rx_pool);
    CHECK(w.catcher.frames[2].pool() == &w.rx_pool);
    CHECK(contents(w.catcher.frames[1]) == numbered_frame(2, 87));
    CHECK(contents(w.catcher.frames[2]) == numbered_frame(3, 900));
    CHECK(w.nic->rx_posted() == 2); // the two held in their own buffers
}

TEST_CASE("with the copy pool empty, a small frame stays in its receive buffer and is not lost",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    copy_world cw(1500);
    auto& copies = cw.copies;
    auto& w = cw.w;
    auto& kernel = cw.kernel;
    std::vector<buffer_ref> taken; // everything but two buffers, reserve included
    while (copies.available() > 2)
        taken.push_back(*copies.allocate());

    for (int n = 0; n < 4; ++n)
        kernel.send(numbered_frame(n));
    REQUIRE(w.pump_until([&] { return w.catcher.frames.size() == 4; }));
    CHECK(w.counter("rx_copied") == 2);
    CHECK(w.counter("rx_dropped_no_buffer") == 0);
    for (int n = 0; n < 4; ++n) {
        const auto& f = w.catcher.frames[static_cast<std::size_t>(n)];
        CHECK(number(f) == n);
        CHECK(f.pool() == (n < 2 ? &copies : &w.rx_pool));
    }
    CHECK(w.nic->rx_posted() == 2);
}

TEST_CASE("a copy_below that does not fit a copy pool buffer is refused", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    buffer_pool copies({.buffer_size = 2048, .buffer_count = 64});
    buffer_pool rx({.buffer_size = 2048, .buffer_count = 4});
    scheduler sched;
    uring::uring_reactor reactor{sched};
    counter_registry counters;
    auto o = copying(copies, 2048 - packet::default_headroom + 1);
    CHECK_THROWS_AS(make_object<tap_nic>(reactor, counters, rx, o), std::invalid_argument);
}
