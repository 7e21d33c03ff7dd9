#include "framework/counters.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>

using namespace coronet;

namespace {

// How a layer declares its counters: once, by name, held by reference for the hot path.
struct udp_counters {
    explicit udp_counters(counter_registry& r) : group(r, "udp") {}
    counter_group group;
    counter& rx_datagrams = group.declare("rx_datagrams");
    counter& rx_bad_checksum = group.declare("rx_bad_checksum");
    counter& tx_datagrams = group.declare("tx_datagrams");
};

struct ipv4_counters {
    explicit ipv4_counters(counter_registry& r) : group(r, "ipv4") {}
    counter_group group;
    counter& rx_packets = group.declare("rx_packets");
    counter& rx_bad_checksum = group.declare("rx_bad_checksum");
};

} // namespace

TEST_CASE("a layer declares its counters once and counts with plain adds", "[counters]") {
    counter_registry registry;
    udp_counters udp(registry);
    ++udp.rx_datagrams;
    udp.rx_datagrams++;
    udp.tx_datagrams += 5;

    CHECK(udp.rx_datagrams.value == 2);
    CHECK(udp.rx_bad_checksum.value == 0);
    REQUIRE(udp.group.size() == 3);
    CHECK(udp.group.counter_name(0) == "rx_datagrams");
    CHECK(udp.group.counter_name(2) == "tx_datagrams");
    CHECK(udp.group.value(2) == 5);
    CHECK(udp.group.find("tx_datagrams") == &udp.tx_datagrams);
    CHECK(udp.group.find("nope") == nullptr);
}

TEST_CASE("counters are read at run time by group.name", "[counters]") {
    counter_registry registry;
    ipv4_counters ip(registry);
    udp_counters udp(registry);
    ip.rx_packets += 7;
    ++udp.rx_bad_checksum;

    CHECK(registry.read("ipv4.rx_packets").value() == 7);
    CHECK(registry.read("udp.rx_bad_checksum").value() == 1);
    CHECK(registry.read("ipv4.rx_bad_checksum").value() == 0);
    CHECK(registry.read("tcp.rx_segments").error() == ENOENT);
    CHECK(registry.read("ipv4.rx_segments").error() == ENOENT);
    CHECK(registry.read("ipv4").error() == ENOENT);

    REQUIRE(registry.groups().size() == 2);
    CHECK(registry.groups()[0]->name() == "ipv4");
    CHECK(registry.groups()[1]->name() == "udp");
    CHECK(registry.find("udp") == &udp.group);
}

TEST_CASE("the registry dumps every counter as text", "[counters]") {
    counter_registry registry;
    ipv4_counters ip(registry);
    udp_counters udp(registry);
    ip.rx_packets += 12;
    ip.rx_bad_checksum += 1;
    udp.rx_datagrams += 3;

    CHECK(registry.dump() == "ipv4: rx_packets 12\n"
                             "ipv4: rx_bad_checksum 1\n"
                             "udp: rx_datagrams 3\n"
                             "udp: rx_bad_checksum 0\n"
                             "udp: tx_datagrams 0\n");
    CHECK(registry.dump(counter_registry::format::snmp) ==
          "ipv4: rx_packets rx_bad_checksum\n"
          "ipv4: 12 1\n"
          "udp: rx_datagrams rx_bad_checksum tx_datagrams\n"
          "udp: 3 0 0\n");
}

TEST_CASE("the registry dumps in the Prometheus text format, gauges typed as gauges",
          "[counters]") {
    counter_registry registry;
    counter_group nic(registry, "eth0-tbf"); // '-' is no Prometheus name character
    counter& frames = nic.declare("tx_frames");
    counter& queued = nic.declare("queued.now", counter_kind::gauge);
    frames += 42;
    queued += 3;

    CHECK(nic.kind(0) == counter_kind::count);
    CHECK(nic.kind(1) == counter_kind::gauge);
    CHECK(registry.dump(counter_registry::format::prometheus) ==
          "# TYPE coronet_eth0_tbf_tx_frames counter\n"
          "coronet_eth0_tbf_tx_frames 42\n"
          "# TYPE coronet_eth0_tbf_queued_now gauge\n"
          "coronet_eth0_tbf_queued_now 3\n");
}

TEST_CASE("a group leaves its registry when destroyed", "[counters]") {
    counter_registry registry;
    ipv4_counters ip(registry);
    {
        udp_counters udp(registry);
        udp.rx_datagrams += 1;
        CHECK(registry.read("udp.rx_datagrams").value() == 1);
    }
    CHECK(registry.groups().size() == 1);
    CHECK(registry.read("udp.rx_datagrams").error() == ENOENT);
    CHECK(registry.dump() == "ipv4: rx_packets 0\nipv4: rx_bad_checksum 0\n");
    // The name is free again.
    udp_counters again(registry);
    CHECK(registry.read("udp.rx_datagrams").value() == 0);
}

TEST_CASE("groups outlive a registry destroyed first", "[counters]") {
    std::optional<counter_registry> registry(std::in_place);
    ipv4_counters ip(*registry);
    registry.reset();
    ++ip.rx_packets; // still counts; its destructor must not touch the dead registry
    CHECK(ip.rx_packets.value == 1);
}

TEST_CASE("bad or duplicate names are bugs caught at declaration", "[counters]") {
    counter_registry registry;
    ipv4_counters ip(registry);
    CHECK_THROWS_AS(counter_group(registry, "ipv4"), std::invalid_argument);
    CHECK_THROWS_AS(counter_group(registry, "ip.v4"), std::invalid_argument);
    CHECK_THROWS_AS(counter_group(registry, ""), std::invalid_argument);
    CHECK_THROWS_AS(counter_group(registry, "ip v4"), std::invalid_argument);
    CHECK_THROWS_AS(ip.group.declare("rx_packets"), std::invalid_argument);
    CHECK_THROWS_AS(ip.group.declare("rx packets"), std::invalid_argument);
    CHECK(registry.groups().size() == 1);
    CHECK(ip.group.size() == 2);
}

TEST_CASE("reset sets a group's counters back to zero", "[counters]") {
    counter_registry registry;
    udp_counters udp(registry);
    udp.rx_datagrams += 4;
    udp.group.reset();
    CHECK(registry.read("udp.rx_datagrams").value() == 0);
}
