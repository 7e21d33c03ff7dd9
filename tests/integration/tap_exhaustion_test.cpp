// Running out of receive buffers: with a pool of four and every delivered frame held by the
// test, further frames are dropped at the wire and counted (rx_dropped_no_buffer), as a
// NIC with no descriptor posted drops; releasing the frames re-posts their buffers and
// reception resumes with the frames sent after that (the dropped ones never come out late).
// Through the multishot read and through single reads with buffer selection.
#include "tests/integration/tap_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::test;

namespace {

// A frame to coronet numbered `n` (the first payload byte), of a local experimental type.
bytes numbered_frame(int n) {
    bytes payload(46);
    payload[0] = std::byte(n);
    return ethernet_frame(kernel_mac, coronet_mac, ethernet::ethertype{0x88b5}, payload);
}

std::vector<int> numbers(const frame_catcher& c) {
    std::vector<int> out;
    for (auto& p : c.frames)
        out.push_back(std::to_integer<int>(contents(p)[ethernet::header_length]));
    return out;
}

void drop_and_resume(bool multishot) {
    auto o = test_options();
    o.multishot = multishot;
    o.rx_buffers = 4;
    tap_world w(o, {.buffer_size = 2048, .buffer_count = 4});
    if (!multishot) CHECK_FALSE(w.nic->multishot());
    kernel_raw_sender kernel(w.nic->device().ifindex());

    for (int n = 0; n < 4; ++n)
        kernel.send(numbered_frame(n));
    REQUIRE(w.pump_until([&] { return w.catcher.frames.size() == 4; }));
    CHECK(numbers(w.catcher) == std::vector<int>{0, 1, 2, 3});
    CHECK(w.nic->rx_posted() == 0);

    for (int n = 4; n < 7; ++n)
        kernel.send(numbered_frame(n));
    REQUIRE(w.pump_until([&] { return w.counter("rx_dropped_no_buffer") == 3; }));
    CHECK(w.catcher.frames.size() == 4);
    CHECK(w.counter("rx_frames") == 4);

    w.catcher.frames.clear(); // the last references: the release hook re-posts the buffers
    CHECK(w.nic->rx_posted() == 4);
    REQUIRE(w.pump_until([&] { return w.counter("rx_restarts") == 1; }));

    for (int n = 7; n < 9; ++n)
        kernel.send(numbered_frame(n));
    REQUIRE(w.pump_until([&] { return w.catcher.frames.size() == 2; }));
    CHECK(numbers(w.catcher) == std::vector<int>{7, 8});
    CHECK(w.counter("rx_dropped_no_buffer") == 3);
    CHECK(w.counter("rx_frames") == 6);
    CHECK(w.counter("rx_errors") == 0);
}

} // namespace

TEST_CASE("with every receive buffer held, frames are dropped and counted; released buffers resume "
          "reception "
          "(multishot read)",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    drop_and_resume(true);
}

TEST_CASE("with every receive buffer held, frames are dropped and counted; released buffers resume "
          "reception "
          "(single reads)",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    drop_and_resume(false);
}

TEST_CASE("a pool whose first buffers are taken cannot serve a TAP NIC", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    scheduler sched;
    uring::uring_reactor reactor{sched};
    counter_registry counters;
    buffer_pool pool({.buffer_size = 2048, .buffer_count = 8});
    auto taken = pool.allocate(); // buffer 0
    REQUIRE(taken);
    auto o = test_options();
    o.rx_buffers = 4;
    CHECK_THROWS_AS(make_object<tap_nic>(reactor, counters, pool, o), std::invalid_argument);
    CHECK(pool.lent() == 0); // whatever it had lent went back
    CHECK(pool.available() == 7);
}
