#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"

#include <catch2/catch.hpp>

#include <unordered_set>

using namespace coronet;

TEST_CASE("big-endian loads and stores over byte spans") {
    std::array<std::byte, 7> b{};
    store_be16(std::span(b).subspan(1), 0x1234); // an odd address: no alignment needed
    store_be32(std::span(b).subspan(3), 0xdeadbeef);
    CHECK(b[1] == std::byte{0x12});
    CHECK(b[2] == std::byte{0x34});
    CHECK(b[3] == std::byte{0xde});
    CHECK(b[6] == std::byte{0xef});
    CHECK(load_be16(std::span(b).subspan(1)) == 0x1234);
    CHECK(load_be32(std::span(b).subspan(3)) == 0xdeadbeef);
    static_assert(load_be16(std::array{std::byte{0xab}, std::byte{0xcd}}) == 0xabcd);
}

TEST_CASE("mac_address parses, formats and classifies") {
    auto m = mac_address::parse("02:00:00:00:00:01");
    REQUIRE(m);
    CHECK(*m == mac_address{2, 0, 0, 0, 0, 1});
    CHECK(to_string(*m) == "02:00:00:00:00:01");
    CHECK(m->is_unicast());
    CHECK(m->is_local());
    CHECK(mac_address::parse("AA-bb-CC-dd-EE-ff").value() ==
          mac_address{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    CHECK(mac_broadcast.is_broadcast());
    CHECK(mac_broadcast.is_multicast());
    CHECK(mac_address{0x01, 0x00, 0x5e, 0, 0, 1}.is_multicast());
    CHECK_FALSE(mac_address{0x01, 0x00, 0x5e, 0, 0, 1}.is_broadcast());
    for (auto bad : {"", "02:00:00:00:00", "02:00:00:00:00:01:", "02:00:00-00:00:01",
                     "0g:00:00:00:00:01", "2:00:00:00:00:01", "02:00:00:00:00:001"}) {
        INFO(bad);
        auto r = mac_address::parse(bad);
        CHECK(r.error() == EINVAL);
    }
    std::array<std::byte, 6> wire{};
    m->write_to(wire);
    CHECK(mac_address::from_bytes(wire) == *m);
}

TEST_CASE("ipv4_address parses strict dotted quads") {
    CHECK(ipv4_address::parse("10.0.0.1").value() == ipv4_address{10, 0, 0, 1});
    CHECK(ipv4_address::parse("255.255.255.255").value() == ipv4_broadcast);
    CHECK(ipv4_address::parse("0.0.0.0").value() == ipv4_any);
    for (auto bad : {"", "10.0.0", "10.0.0.1.", "10.0.0.256", "10..0.1", "010.0.0.1", "10.0.0.-1",
                     "+1.0.0.1", "10.0.0.1 ", "1000.0.0.1", "a.b.c.d"}) {
        INFO(bad);
        auto r = ipv4_address::parse(bad);
        CHECK(r.error() == EINVAL);
    }
    CHECK(to_string(ipv4_address{192, 168, 0, 199}) == "192.168.0.199");
    CHECK(ipv4_address{10, 0, 0, 1}.to_uint() == 0x0a000001);
    CHECK(ipv4_address{10, 0, 0, 1}.octets() == std::array<std::uint8_t, 4>{10, 0, 0, 1});
}

TEST_CASE("ipv4_address classifies and orders like the integer it holds") {
    CHECK(ipv4_any.is_any());
    CHECK(ipv4_broadcast.is_broadcast());
    CHECK(ipv4_address{224, 0, 0, 1}.is_multicast());
    CHECK(ipv4_address{239, 255, 255, 255}.is_multicast());
    CHECK_FALSE(ipv4_address{240, 0, 0, 1}.is_multicast());
    CHECK(ipv4_address{127, 0, 0, 1}.is_loopback());
    CHECK(ipv4_address{169, 254, 1, 1}.is_link_local());
    CHECK(ipv4_address{10, 0, 0, 1} < ipv4_address{10, 0, 1, 0});
    std::array<std::byte, 4> wire{};
    ipv4_address{10, 1, 2, 3}.write_to(wire);
    CHECK(wire == std::array{std::byte{10}, std::byte{1}, std::byte{2}, std::byte{3}});
    CHECK(ipv4_address::from_bytes(wire) == ipv4_address{10, 1, 2, 3});
}

TEST_CASE("ipv4_prefix masks, contains and parses") {
    auto p = ipv4_prefix::parse("10.0.0.1/24").value();
    CHECK(p.address() == ipv4_address{10, 0, 0, 1});
    CHECK(p.length() == 24);
    CHECK(p.mask() == ipv4_address{255, 255, 255, 0});
    CHECK(p.network() == ipv4_address{10, 0, 0, 0});
    CHECK(p.broadcast() == ipv4_address{10, 0, 0, 255});
    CHECK(p.contains({10, 0, 0, 200}));
    CHECK_FALSE(p.contains({10, 0, 1, 1}));
    CHECK(ipv4_prefix{}.contains({1, 2, 3, 4})); // 0.0.0.0/0 holds everything
    CHECK(ipv4_prefix({10, 0, 0, 1}, 32).contains({10, 0, 0, 1}));
    CHECK_FALSE(ipv4_prefix({10, 0, 0, 1}, 32).contains({10, 0, 0, 2}));
    CHECK(to_string(p) == "10.0.0.1/24");
    for (auto bad :
         {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/024", "10.0.0/8", "10.0.0.0/8/8"}) {
        INFO(bad);
        auto r = ipv4_prefix::parse(bad);
        CHECK(r.error() == EINVAL);
    }
    CHECK_THROWS_AS(ipv4_prefix({10, 0, 0, 0}, 33), std::invalid_argument);
}

TEST_CASE("port and endpoint") {
    endpoint e{ipv4_any, 7}; // as a listener is written
    CHECK(e.port.value() == 7);
    CHECK(to_string(endpoint{{10, 0, 0, 1}, 80}) == "10.0.0.1:80");
    CHECK(endpoint::parse("10.0.0.1:80").value() == endpoint{{10, 0, 0, 1}, 80});
    CHECK(endpoint::parse("10.0.0.1:65535").value().port == port{65535});
    for (auto bad : {"10.0.0.1", "10.0.0.1:", "10.0.0.1:65536", ":80", "10.0.0.1:08"}) {
        INFO(bad);
        auto r = endpoint::parse(bad);
        CHECK(r.error() == EINVAL);
    }
    CHECK(port{80} < port{443});
}

TEST_CASE("hashes separate nearby values") {
    std::unordered_set<std::size_t> seen;
    for (std::uint8_t i = 0; i < 100; ++i) {
        seen.insert(std::hash<ipv4_address>{}({10, 0, 0, i}));
        seen.insert(std::hash<endpoint>{}({{10, 0, 0, 1}, static_cast<std::uint16_t>(1000 + i)}));
        seen.insert(std::hash<mac_address>{}({2, 0, 0, 0, 0, i}));
    }
    CHECK(seen.size() == 300);
    std::unordered_set<ipv4_prefix> prefixes{ipv4_prefix({10, 0, 0, 0}, 8),
                                             ipv4_prefix({10, 0, 0, 0}, 16)};
    CHECK(prefixes.size() == 2);
    std::unordered_set<port> ports{80, 443, 80};
    CHECK(ports.size() == 2);
}
