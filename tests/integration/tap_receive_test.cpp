// Kernel -> coronet over a TAP device: a ping from the kernel's side makes the kernel send
// ARP requests for 10.0.0.2, which the NIC receives into its pool's buffers, without a
// copy, through the multishot read and through the fallback of single reads.
#include "tests/integration/tap_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::test;

namespace {

// ARP requests from the kernel's end asking for coronet's address.
std::size_t arp_requests_for_us(const frame_catcher& c) {
    return static_cast<std::size_t>(
        std::count_if(c.frames.begin(), c.frames.end(), [](const packet& p) {
            auto a = as_arp(contents(p));
            return a && a->operation == arp::operation::request && a->target_ip == coronet_ip &&
                   a->sender_ip == kernel_ip && a->sender_mac == kernel_mac;
        }));
}

void kernel_arp_reaches_coronet(bool multishot) {
    auto o = test_options();
    o.multishot = multishot;
    tap_world w(o);
    if (!multishot) CHECK_FALSE(w.nic->multishot());
    if (multishot && !w.nic->multishot())
        WARN("this kernel lacks multishot read: the single-read path ran instead");
    w.kernel_address();
    auto interrupts_before = w.sched.interrupts().count(w.nic->interrupt_line());

    kernel_pings_coronet ping;
    REQUIRE(w.pump_until([&] { return arp_requests_for_us(w.catcher) >= 1; }));

    const packet& first =
        *std::find_if(w.catcher.frames.begin(), w.catcher.frames.end(),
                      [](const packet& p) { return as_arp(contents(p)).has_value(); });
    auto f = contents(first);
    auto eth = ethernet::parse(f);
    REQUIRE(eth);
    CHECK(eth->destination == mac_broadcast);
    CHECK(eth->source == kernel_mac);
    CHECK(first.length() == ethernet::header_length + arp::packet_length); // the header is stripped
    CHECK(first.meta().offload.flags == 0);
    CHECK(first.meta().timestamp_ns > 0);

    // No copy: the frame is the pool buffer the kernel wrote, just past the virtio header.
    auto bytes_in_buffer = *first.slices().begin();
    auto index = w.rx_pool.index_of(bytes_in_buffer.data());
    REQUIRE(index);
    CHECK(*index < w.nic->rx_buffers());
    CHECK(bytes_in_buffer.data() == w.rx_pool.data(*index).data() + vnet_header_bytes);

    CHECK(w.counter("rx_frames") >= 1);
    CHECK(w.counter("rx_bytes") >= 42);
    CHECK(w.counter("rx_dropped_no_buffer") == 0);
    CHECK(w.counter("rx_errors") == 0);
    CHECK(w.sched.interrupts().count(w.nic->interrupt_line()) > interrupts_before);

    // Released frames go back to the ring.
    auto held = w.catcher.frames.size();
    auto posted = w.nic->rx_posted();
    w.catcher.frames.clear();
    CHECK(w.nic->rx_posted() == posted + held);
    CHECK(w.nic->rx_posted() == w.nic->rx_buffers());
}

} // namespace

TEST_CASE("the kernel's ARP requests reach coronet through a multishot read",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    kernel_arp_reaches_coronet(true);
}

TEST_CASE("the kernel's ARP requests reach coronet through single reads with buffer selection",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    kernel_arp_reaches_coronet(false);
}

TEST_CASE("the standing read does not hold back a virtual clock", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    virtual_clock clock;
    tap_world w(test_options(), {.buffer_size = 2048, .buffer_count = 16}, &clock);
    CHECK(w.reactor.active());       // the read is in the kernel...
    CHECK(w.reactor.pending() == 0); // ...as a background operation
    auto start = std::chrono::steady_clock::now();
    auto slept = w.sched.run(sleep_for(std::chrono::hours(1)));
    CHECK(slept);
    CHECK(clock.now().since_epoch >= std::chrono::hours(1));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}
