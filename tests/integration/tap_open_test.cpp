// Opening a TAP device: the errors a user meets first (no tun device node, no
// CAP_NET_ADMIN, a name taken), and the device configured as asked (name, MACs, MTU,
// link up, offloads, create or attach).
#include "tests/integration/tap_world.hpp"

#include <catch2/catch.hpp>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <sys/syscall.h>

using namespace coronet;
using namespace coronet::test;

namespace {

// Opens in a child process that has dropped CAP_NET_ADMIN, and reports how it failed.
open_failure open_without_cap_net_admin(const tap_options& o) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct caps[2]{};
        int code = -1;
        std::string what = "capget/capset failed";
        if (::syscall(SYS_capget, &hdr, caps) == 0) {
            caps[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
            caps[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
            if (::syscall(SYS_capset, &hdr, caps) == 0) {
                auto f = try_open(o);
                code = f ? f->code : 0;
                what = f ? f->what : "opened";
            }
        }
        std::string msg = std::to_string(code) + "\n" + what;
        (void)!::write(p[1], msg.data(), msg.size());
        ::_exit(0);
    }
    ::close(p[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;)
        msg.append(buf, static_cast<std::size_t>(n));
    ::close(p[0]);
    ::waitpid(pid, nullptr, 0);
    auto nl = msg.find('\n');
    REQUIRE(nl != std::string::npos);
    return {std::stoi(msg.substr(0, nl)), msg.substr(nl + 1)};
}

} // namespace

TEST_CASE("a missing tun device node is ENOENT, and the message names it", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.tun_path = "/nonexistent/dev/net/tun";
    auto f = try_open(o);
    REQUIRE(f);
    CHECK(f->code == ENOENT);
    CHECK(contains(f->what, "/nonexistent/dev/net/tun"));
    CHECK(contains(f->what, "tun module"));
    CHECK(::if_nametoindex("ctap0") == 0);
}

TEST_CASE("without CAP_NET_ADMIN creating a TAP device is EPERM, and the message says so",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto f = open_without_cap_net_admin(test_options());
    CHECK(f.code == EPERM);
    CHECK(contains(f.what, "CAP_NET_ADMIN"));
}

TEST_CASE("the device gets the name, addresses, MTU and state asked for", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.name = "coronet%d";
    o.mtu = 1400;
    tap_world w(o);
    CHECK(w.name() == "coronet0");
    CHECK(w.nic->device().ifindex() == static_cast<int>(::if_nametoindex("coronet0")));
    CHECK(w.nic->mac() == coronet_mac);
    CHECK(w.nic->mtu() == 1400);
    auto link = run({"ip", "-o", "link", "show", "dev", "coronet0"});
    REQUIRE(link.status == 0);
    CHECK(contains(link.out, ",UP"));
    CHECK(contains(link.out, "mtu 1400"));
    CHECK(contains(link.out, "link/ether 02:c0:7e:00:00:01"));
    // Offloads on by default; buffers of 2 KiB cannot hold a 64 KiB segment, so the kernel
    // is not asked for TSO towards coronet, but coronet may still send large segments.
    CHECK(w.nic->kernel_offloads() == TUN_F_CSUM);
    CHECK(w.nic->features().tx_checksum_offload);
    CHECK(w.nic->features().rx_checksum_validated);
    CHECK(w.nic->features().tso);
}

TEST_CASE("the kernel's queue of frames for coronet holds kernel_queue frames: 4,096 by "
          "default, the kernel's own with 0; more than the maximum is refused",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    // From ip(8): /sys/class/net shows the namespace sysfs was mounted in, not this one.
    const auto queue_of = [](const std::string& dev) {
        auto r = run({"ip", "-o", "link", "show", "dev", dev});
        REQUIRE(r.status == 0);
        const auto at = r.out.find(" qlen ");
        REQUIRE(at != std::string::npos);
        return std::stoul(r.out.substr(at + 6));
    };
    {
        tap_world w(test_options());
        CHECK(queue_of(w.name()) == 4096);
    }
    {
        auto o = test_options();
        o.kernel_queue = 0;
        tap_world w(o);
        // What the kernel gives a TAP device of its own accord (1,000 on Linux 6.x).
        REQUIRE(run({"ip", "tuntap", "add", "dev", "qref0", "mode", "tap"}).status == 0);
        CHECK(queue_of(w.name()) == queue_of("qref0"));
        CHECK(queue_of(w.name()) != 4096);
    }
    {
        auto o = test_options();
        o.kernel_queue = 300;
        tap_world w(o);
        CHECK(queue_of(w.name()) == 300);
    }
    auto o = test_options();
    o.kernel_queue = max_kernel_queue + 1;
    scheduler sched;
    uring::uring_reactor reactor{sched};
    counter_registry counters;
    buffer_pool pool({.buffer_size = 2048, .buffer_count = 8});
    CHECK_THROWS_AS(make_object<tap_nic>(reactor, counters, pool, o), std::invalid_argument);
    CHECK(::if_nametoindex("ctap0") == 0);
}

TEST_CASE("the link stays down when asked", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.link_up = false;
    tap_world w(o);
    auto link = run({"ip", "-o", "link", "show", "dev", w.name()});
    CHECK_FALSE(contains(link.out, ",UP"));
}

TEST_CASE("buffers that hold a 64 KiB segment let the kernel hand coronet large segments",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w(test_options(), {.buffer_size = 65600, .buffer_count = 4});
    CHECK(w.nic->kernel_offloads() == (TUN_F_CSUM | TUN_F_TSO4));
    CHECK(w.nic->features().tso);
}

TEST_CASE("each offload is switched off by its option, and the features say so",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    SECTION("no TSO") {
        auto o = test_options();
        o.tso = false;
        tap_world w(o, {.buffer_size = 65600, .buffer_count = 4});
        CHECK(w.nic->kernel_offloads() == TUN_F_CSUM);
        CHECK(w.nic->features().tx_checksum_offload);
        CHECK_FALSE(w.nic->features().tso);
    }
    SECTION("no checksum offload (and so no TSO)") {
        auto o = test_options();
        o.checksum_offload = false;
        tap_world w(o, {.buffer_size = 65600, .buffer_count = 4});
        CHECK(w.nic->kernel_offloads() == 0);
        CHECK_FALSE(w.nic->features().tx_checksum_offload);
        CHECK_FALSE(w.nic->features().rx_checksum_validated);
        CHECK_FALSE(w.nic->features().tso);
    }
}

TEST_CASE(
    "create refuses a name in use; attach joins a persistent device and refuses a missing one",
    "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.name = "ctest0";
    {
        tap_device first = tap_device::open(o, 2048);
        auto second = try_open(o);
        REQUIRE(second);
        CHECK(second->code == EBUSY);
        CHECK(contains(second->what, "exists already"));
    }

    o.mode = tap_open_mode::attach;
    o.name = "cpersist0";
    auto missing = try_open(o);
    REQUIRE(missing);
    CHECK(missing->code == ENODEV);
    CHECK(contains(missing->what, "cpersist0"));

    REQUIRE(run({"ip", "tuntap", "add", "dev", "cpersist0", "mode", "tap"}).status == 0);
    {
        tap_world w(o);
        CHECK(w.name() == "cpersist0");
        CHECK(w.nic->transmit(
            packet_of(w.tx_pool, ethernet_frame(coronet_mac, kernel_mac,
                                                ethernet::ethertype{0x88b5}, bytes(46)))));
        CHECK(w.pump_until([&] { return w.nic->tx_in_flight() == 0; }));
        CHECK(w.counter("tx_errors") == 0);
    }
    CHECK(::if_nametoindex("cpersist0") != 0); // attaching and leaving keeps a persistent device
    CHECK(run({"ip", "tuntap", "del", "dev", "cpersist0", "mode", "tap"}).status == 0);
}

TEST_CASE("a pool whose buffers cannot hold an MTU-sized frame is refused before any device exists",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    scheduler sched;
    uring::uring_reactor reactor{sched};
    counter_registry counters;
    buffer_pool pool({.buffer_size = 1024, .buffer_count = 8});
    CHECK_THROWS_AS(make_object<tap_nic>(reactor, counters, pool, test_options()),
                    std::invalid_argument);
    CHECK(::if_nametoindex("ctap0") == 0);
}
