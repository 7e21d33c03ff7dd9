// A multi-queue TAP device: several queues open on one device, each a tap_nic whose frames
// reach the kernel and whose counters are its own; the errors of a queue that cannot join
// (no such device, a single-queue device, offloads unlike the first queue's).
#include "tests/drivers/tap/mq_world.hpp"

#include <catch2/catch.hpp>
#include <linux/if_tun.h>
#include <set>

using namespace coronet;
using namespace coronet::test;

namespace {

// The first queue of multi-queue device "cmq0", for a later one to join.
tap_device first_queue(std::size_t rx_frame_bytes = 2048) {
    auto o = test_options();
    o.name = "cmq0";
    o.multi_queue = true;
    return tap_device::open(o, rx_frame_bytes);
}

// The queues attached to the device, as the kernel reports them (IFLA_TUN_NUM_QUEUES, which
// `ip -d link` prints as "numqueues N"); -1 if it does not.
int kernel_queues(const std::string& dev) {
    auto r = run({"ip", "-d", "link", "show", "dev", dev});
    auto at = r.out.find("numqueues ");
    if (at == std::string::npos) return -1;
    return std::stoi(r.out.substr(at + 10));
}

} // namespace

TEST_CASE("every queue of a multi-queue device sends to the kernel and counts its own frames",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    unsigned n = GENERATE(2u, 4u);
    mq_world w(n);
    CHECK(kernel_queues("cmq0") == static_cast<int>(n));
    udp_flow kernel(7000);
    for (unsigned q = 0; q < n; ++q) {
        CHECK(w.queues[q]->nic->device().name() == "cmq0");
        CHECK(w.queues[q]->nic->device().ifindex() == w.queues[0]->nic->device().ifindex());
        CHECK(w.queues[q]->nic->kernel_offloads() == TUN_F_CSUM); // the first queue's, read back
        w.send(q, udp_from_coronet(kernel.port(), "from queue " + std::to_string(q)));
    }
    std::set<std::string> got;
    w.pump_until([&] {
        while (auto d = kernel.receive())
            got.insert(*d);
        return got.size() == n;
    });
    CHECK(got.size() == n);
    for (unsigned q = 0; q < n; ++q) {
        CHECK(got.count("from queue " + std::to_string(q)) == 1);
        CHECK(w.counter(q, "tx_frames") == 1);
        CHECK(w.counter(q, "tx_errors") == 0);
    }
}

TEST_CASE("closing a later queue leaves the device and its other queues working",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    mq_world w(3);
    w.queues[1]->nic->shutdown();
    REQUIRE(w.pump_until([&] { return w.queues[1]->nic->stopped(); }));
    w.queues[1]->nic.reset();
    CHECK(kernel_queues("cmq0") == 2);
    udp_flow kernel(7000);
    w.send(2, udp_from_coronet(kernel.port(), "still here"));
    std::optional<std::string> got;
    w.pump_until([&] { return (got = kernel.receive()).has_value(); });
    CHECK(got == "still here");
}

TEST_CASE("a queue that cannot join a device fails with the errno and what to do",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.name = "cmq0";
    o.mode = tap_open_mode::attach_queue;

    SECTION("no such device: ENODEV") {
        auto f = try_open(o);
        REQUIRE(f);
        CHECK(f->code == ENODEV);
        CHECK(contains(f->what, "cmq0"));
        CHECK(::if_nametoindex("cmq0") == 0); // attach_queue never creates one
    }
    SECTION("a single-queue device: EINVAL") {
        auto first = test_options();
        first.name = "cmq0";
        tap_device single = tap_device::open(first, 2048);
        auto f = try_open(o);
        REQUIRE(f);
        CHECK(f->code == EINVAL);
        CHECK(contains(f->what, "not a multi-queue TAP device"));
        CHECK(contains(f->what, "multi_queue = true"));
    }
    SECTION("a multi-queue device opened again as single-queue: EINVAL") {
        tap_device q0 = first_queue();
        auto single = test_options();
        single.name = "cmq0";
        single.mode = tap_open_mode::attach;
        auto f = try_open(single);
        REQUIRE(f);
        CHECK(f->code == EINVAL);
        CHECK(contains(f->what, "set multi_queue"));
    }
    SECTION("creating a multi-queue device whose name is taken: EBUSY") {
        tap_device q0 = first_queue();
        auto again = o;
        again.mode = tap_open_mode::create;
        again.multi_queue = true;
        auto f = try_open(again);
        REQUIRE(f);
        CHECK(f->code == EBUSY);
    }
    SECTION("offloads unlike the first queue's: EINVAL, and the first queue's stay") {
        tap_device q0 = first_queue();
        REQUIRE(q0.offloads() == TUN_F_CSUM);
        auto no_csum = o;
        no_csum.checksum_offload = false;
        auto f = try_open(no_csum);
        REQUIRE(f);
        CHECK(f->code == EINVAL);
        CHECK(contains(f->what, "offloads"));
        // Buffers that hold 64 KiB would want TSO4 too: the device's (no TSO4) is accepted,
        // as the first queue's own fallback would be.
        tap_device q1 = tap_device::open(o, 65600);
        CHECK(q1.offloads() == TUN_F_CSUM);
    }
    SECTION("a device whose first queue has TSO4 refuses a queue whose buffers cannot hold it") {
        tap_device q0 = first_queue(65600);
        REQUIRE(q0.offloads() == (TUN_F_CSUM | TUN_F_TSO4));
        auto f = try_open(o); // 2 KiB buffers
        REQUIRE(f);
        CHECK(f->code == EINVAL);
        CHECK(contains(f->what, "buffer size"));
    }
}
