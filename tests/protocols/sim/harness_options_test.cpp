// The harness's options that coronet's own fixtures build on (protocols/sim/harness.hpp):
// a network without the ARP-settling pings starts at time 0 with the faults on from its first
// frame, and with them it spares ARP; each host's NIC gets its own offloads and the wire its
// queue limit; a seed gives the same bytes as a world built by hand with hosts first; and
// options the harness cannot honour are refused.
#include "protocols/sim/harness.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unistd.h>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

const ipv4_address b_addr(10, 0, 0, 2);

const fault_config lossy{.loss = 0.2, .reorder = 0.1};

// Ten pings from a to b and a connect to b's closed port 9 (a SYN, whose ISN comes from a's
// stack seed, and b's RST) over a lossy wire, captured on a's NIC from the first frame, on a
// test_network or on a world built by hand, hosts first. The bytes, once the world went
// (the capture is complete then).
std::string traffic(std::uint64_t seed, bool by_hand) {
    static int runs = 0;
    const auto path =
        std::filesystem::temp_directory_path() /
        ("coronet-options-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) + ".pcap");
    int refused = 0;
    auto run = [&](sim::world& w, sim::host& a) {
        w.capture(a.nic_at(0), path);
        for (int i = 0; i < 10; ++i)
            (void)w.run(a.stack().ping(b_addr, 56, 300ms));
        auto p = a.create_process("client");
        p->spawn([&refused, raw = p.get()]() -> task<void> {
            auto c = co_await raw->connect({b_addr, 9});
            refused = c ? 0 : c.error();
        });
        w.run(p->join());
    };
    if (by_hand) {
        sim::world w({.seed = seed});
        auto& a = w.add_host("a");
        auto& b = w.add_host("b");
        auto& link = w.add_wire({.latency = 1ms, .bandwidth_bps = 1'000'000'000, .faults = lossy});
        w.connect(a, link, ipv4_prefix::parse("10.0.0.1/24").value());
        w.connect(b, link, ipv4_prefix::parse("10.0.0.2/24").value());
        run(w, a);
    } else {
        sim::test_network net({.seed = seed, .faults = lossy, .settle_arp = false});
        run(net.world(), net.a());
    }
    CHECK(refused == ECONNREFUSED);
    std::ifstream f(path, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(f), {}};
    f.close();
    std::filesystem::remove(path);
    return bytes;
}

} // namespace

TEST_CASE("harness: with settle_arp off the test starts at time 0 and the faults strike the "
          "first frame",
          "[sim][harness]") {
    sim::test_network net({.seed = 3, .faults = {.loss = 1.0}, .settle_arp = false});
    CHECK(net.world().now() == time_point{});
    // What went on the wire is the stacks' own, as their interfaces came up: all of it lost.
    CHECK(net.link().stats().faults.lost.value == net.link().stats().frames_carried.value);
    CHECK(net.link().settings().faults.loss == 1.0);
    CHECK_FALSE(net.world().run(net.a().stack().ping(b_addr, 56, 1s)));
    CHECK(net.link().stats().faults.lost.value > 0); // the ARP request itself
}

TEST_CASE("harness: by default ARP settles before the test, spared by the faults",
          "[sim][harness]") {
    sim::test_network net({.seed = 3, .faults = {.loss = 1.0}});
    CHECK(net.world().now() > time_point{});
    CHECK(net.link().stats().frames_carried.value > 0);
    CHECK(net.link().stats().faults.lost.value == 0);
    CHECK_FALSE(net.world().run(net.a().stack().ping(b_addr, 56, 1s))); // the faults are on now
    CHECK(net.link().stats().faults.lost.value > 0);
}

TEST_CASE("harness: each host's NIC offers its own offloads; the wire has the queue limit",
          "[sim][harness]") {
    const nic_features tso{.tx_checksum_offload = true, .tso = true};
    sim::test_network net({.hosts = 3, .queue_limit = 4, .nics = {tso, {}}});
    CHECK(net.a().nic_at(0).features().tso);
    CHECK(net.a().nic_at(0).features().tx_checksum_offload);
    CHECK_FALSE(net.b().nic_at(0).features().tso);
    CHECK_FALSE(net.at(2).nic_at(0).features().tso); // past the end of `nics`: none
    CHECK(net.link().settings().queue_limit == 4);
}

TEST_CASE("harness: a seed draws as a world built by hand does: hosts, then the wire",
          "[sim][harness]") {
    const auto by_hand = traffic(9, true);
    CHECK(by_hand.size() > 2000);
    CHECK(traffic(9, false) == by_hand);
    CHECK(traffic(10, false) != by_hand); // the seed does matter
}

TEST_CASE("harness: options it cannot honour are refused", "[sim][harness]") {
    CHECK_THROWS_AS(sim::test_network({.hosts = 0}), std::invalid_argument);
    CHECK_THROWS_AS(sim::test_network({.hosts = 27}), std::invalid_argument); // names a to z
    CHECK_THROWS_AS((sim::test_network({.nics = {{}, {}, {}}})), std::invalid_argument);
}
