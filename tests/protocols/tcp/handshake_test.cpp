// Opening connections between two simulated hosts: a connect to a closed port is refused; one
// to a dead wire backs its SYN off and times out at exact virtual times. On the public harness
// (protocols/sim/harness.hpp), which settles ARP first: the times below are TCP's.
#include "protocols/sim/harness.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace std::chrono_literals;

namespace {
// The client's connect() to b:`to`: its error (0 on success) and when it returned.
struct attempt {
    int error = 0;
    time_point done{};
};
attempt connect_once(sim::test_network& net, port to) {
    attempt a;
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = co_await p.connect({net.address(net.b()), to});
        a.error = c ? 0 : c.error();
        a.done = net.world().now();
    });
    auto r = net.run();
    INFO(r.describe());
    REQUIRE(r);
    return a;
}
} // namespace

TEST_CASE("tcp handshake: connect to a closed port fails with ECONNREFUSED after one RTT",
          "[tcp][handshake]") {
    sim::test_network net;
    const time_point start = net.world().now();
    auto a = connect_once(net, 81);
    CHECK(a.error == ECONNREFUSED);
    CHECK(a.done - start < 3ms); // 1 ms each way (plus serialisation)
    CHECK(net.counter(net.b(), "tcp", "out_rsts") == 1);
    CHECK(net.counter(net.a(), "tcp", "attempt_fails") == 1);
}

TEST_CASE("tcp timers: SYN retransmissions back off 1, 2, 4 ... s and fail with ETIMEDOUT at "
          "127 s",
          "[tcp][timers]") {
    // ARP's entry must outlive the 127 s: with the default 60 s it expires, re-resolution
    // fails on the dead wire and connect() fails with EHOSTUNREACH at 66 s, as on Linux.
    sim::network_options o;
    o.host.stack.arp.reachable_time = 3600s;
    sim::test_network net(o);
    net.set_faults({.loss = 1.0});
    const time_point start = net.world().now();
    auto a = connect_once(net, 80);
    CHECK(a.error == ETIMEDOUT);
    CHECK(a.done - start == 127s); // RFC 6298 §5.5: 1 + 2 + 4 + 8 + 16 + 32 + 64
    CHECK(net.counter(net.a(), "tcp", "retrans_segs") == 6);
    CHECK(net.counter(net.a(), "tcp", "attempt_fails") == 1);
}

TEST_CASE("tcp timers: with the default ARP lifetime, a dead wire fails connect() with "
          "EHOSTUNREACH once ARP gives up",
          "[tcp][timers]") {
    sim::test_network net;
    net.set_faults({.loss = 1.0});
    CHECK(connect_once(net, 80).error == EHOSTUNREACH);
}
