#include "protocols/ipv4/wire.hpp"

#include "protocols/checksum/checksum.hpp"

#include <catch2/catch.hpp>
#include "tests/protocols/hex.hpp"

#include <random>
#include <string>
#include <vector>

using namespace coronet;

namespace {

using testing::hex;

// A UDP DNS query Linux sent from 10.0.0.1 to 10.0.0.2 (captured on a TAP device).
const auto dns_query = hex("45 00 0039 4821 4000 40 11 de90 0a000001 0a000002"
                           "cf84 0035 0025 3a46"
                           "1234 0100 0001 0000 0000 0000 076578616d706c6503636f6d0000010001");
// The port unreachable Linux answered a datagram to a closed port with: TOS 0xc0 (DSCP CS6).
const auto port_unreachable =
    hex("45 c0 003d ee69 0000 40 01 7794 0a000001 0a000002"
        "0303 111e 00000000"
        "450000211c46400040110a840a0000020a000001 9c400009000d0bb6 68656c6c6f");

// Recomputes the header checksum of a header that may be malformed on purpose (an IHL beyond
// the buffer): the sum stops at the buffer's end.
void set_checksum(std::vector<std::byte>& p) {
    store_be16(std::span(p).subspan(10), 0);
    const std::size_t ihl = (std::to_integer<std::size_t>(p[0]) & 0x0f) * 4;
    store_be16(std::span(p).subspan(10),
               checksum::compute(std::span(p).first(std::min(ihl, p.size()))));
}

} // namespace

TEST_CASE("ipv4 parses a captured UDP packet") {
    auto r = ipv4::parse(dns_query);
    REQUIRE(r);
    CHECK(r->source == ipv4_address{10, 0, 0, 1});
    CHECK(r->destination == ipv4_address{10, 0, 0, 2});
    CHECK(r->protocol == ipv4::protocol::udp);
    CHECK(r->ttl == 64);
    CHECK(r->identification == 0x4821);
    CHECK(r->dont_fragment);
    CHECK_FALSE(r->more_fragments);
    CHECK(r->fragment_offset == 0);
    CHECK(r->payload_length == 37);
    CHECK(r->buffer_len() == dns_query.size());
    auto u = ipv4::parse(port_unreachable).value();
    CHECK(u.dscp == 48);
    CHECK(u.ecn == 0);
    CHECK_FALSE(u.dont_fragment);
    CHECK(u.protocol == ipv4::protocol::icmp);
}

TEST_CASE("ipv4 emit(parse(bytes)) gives the captured headers back, checksum included") {
    for (const auto& packet : {dns_query, port_unreachable}) {
        auto r = ipv4::parse(packet).value();
        std::vector<std::byte> out(20);
        CHECK(ipv4::emit(r, out) == 20);
        CHECK(out == std::vector(packet.begin(), packet.begin() + 20));
    }
}

TEST_CASE("ipv4 leaves Ethernet padding out of the payload") {
    auto padded = dns_query;
    padded.resize(dns_query.size() + 9, std::byte{0xee});
    auto v = ipv4::view::check(padded).value();
    CHECK(v.payload().size() == 37);
    CHECK(v.payload().data() == padded.data() + 20);
    CHECK(ipv4::parse(v)->payload_length == 37);
}

TEST_CASE("ipv4 skips options") {
    // IHL 6: a 4-byte option (NOP NOP NOP EOL) before the UDP header.
    auto p = dns_query;
    p.insert(p.begin() + 20, {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}});
    p[0] = std::byte{0x46};
    store_be16(std::span(p).subspan(2), static_cast<std::uint16_t>(p.size()));
    set_checksum(p);
    auto v = ipv4::view::check(p).value();
    CHECK(v.header_length() == 24);
    CHECK(v.options().size() == 4);
    CHECK(v.payload().data() == p.data() + 24);
    auto r = ipv4::parse(v);
    REQUIRE(r);
    CHECK(r->payload_length == 37);
}

TEST_CASE("ipv4 fragment fields") {
    ipv4::repr r{.source = {10, 0, 0, 1},
                 .destination = {10, 0, 0, 2},
                 .protocol = ipv4::protocol::udp,
                 .identification = 7,
                 .dont_fragment = false,
                 .more_fragments = true,
                 .fragment_offset = 185,
                 .payload_length = 1480};
    std::vector<std::byte> out(20);
    ipv4::emit(r, out);
    CHECK(out[6] == std::byte{0x20}); // MF, offset 185 * 8 = 1480 bytes
    CHECK(out[7] == std::byte{185});
    out.resize(r.buffer_len());
    CHECK(ipv4::parse(out).value() == r);
}

TEST_CASE("ipv4 refuses malformed headers with the reason") {
    struct row {
        const char* what;
        std::size_t at;
        unsigned value;
        bool fix_checksum;
        ipv4::parse_error reason;
        int error;
    };
    const row rows[] = {
        {"version 6", 0, 0x65, true, ipv4::parse_error::bad_version, EPROTONOSUPPORT},
        {"version 0", 0, 0x05, true, ipv4::parse_error::bad_version, EPROTONOSUPPORT},
        {"IHL 4", 0, 0x44, true, ipv4::parse_error::bad_header_length, EINVAL},
        {"IHL 0", 0, 0x40, true, ipv4::parse_error::bad_header_length, EINVAL},
        {"IHL 15, beyond the buffer", 0, 0x4f, true, ipv4::parse_error::truncated, ENODATA},
        {"total length 19", 3, 19, true, ipv4::parse_error::bad_total_length, EINVAL},
        {"total length 0", 3, 0, true, ipv4::parse_error::bad_total_length, EINVAL},
        {"total length one past the buffer", 3, 0x3a, true, ipv4::parse_error::truncated, ENODATA},
        {"a flipped bit in the source", 12, 0x0b, false, ipv4::parse_error::bad_checksum, EBADMSG},
        {"a wrong checksum", 11, 0x91, false, ipv4::parse_error::bad_checksum, EBADMSG},
    };
    for (const auto& r : rows) {
        auto p = dns_query;
        p[r.at] = static_cast<std::byte>(r.value);
        if (r.fix_checksum) set_checksum(p);
        auto parsed = ipv4::parse(p);
        INFO(r.what);
        CHECK(parsed.reason() == r.reason);
        CHECK(parsed.error() == r.error);
        CHECK(ipv4::name(parsed.reason()) != "unknown");
    }
}

TEST_CASE("ipv4 trusts a NIC-verified checksum when told to") {
    auto p = dns_query;
    p[11] = std::byte{0};
    CHECK(ipv4::parse(p).reason() == ipv4::parse_error::bad_checksum);
    CHECK(ipv4::parse(p, {.verify_checksum = false}));
}

TEST_CASE("an ipv4 packet cut at every length is truncated") {
    for (std::size_t n = 0; n < dns_query.size(); ++n) {
        auto r = ipv4::parse(std::span(dns_query).first(n));
        INFO("length " << n);
        CHECK(r.reason() == ipv4::parse_error::truncated);
    }
}

TEST_CASE("ipv4 emit refuses what it cannot encode") {
    std::vector<std::byte> out(20);
    CHECK_THROWS_AS(ipv4::emit(ipv4::repr{.payload_length = 65516}, out), std::length_error);
    CHECK_THROWS_AS(ipv4::emit(ipv4::repr{.fragment_offset = 0x2000}, out), std::length_error);
    CHECK_THROWS_AS(ipv4::emit(ipv4::repr{.dscp = 64}, out), std::length_error);
    CHECK_THROWS_AS(ipv4::emit(ipv4::repr{}, std::span(out).first(19)), std::length_error);
    CHECK(ipv4::emit(ipv4::repr{.payload_length = 65515}, out) == 20);
}

TEST_CASE("ipv4 survives random bytes") {
    std::mt19937 rng(791);
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b(rng() % 80);
        for (auto& x : b)
            x = static_cast<std::byte>(rng());
        if (!b.empty()) b[0] = static_cast<std::byte>(0x40 | (rng() % 16)); // mostly version 4
        auto r = ipv4::parse(b, {.verify_checksum = i % 2 == 0});
        REQUIRE(r.has_value() == (r.reason() == ipv4::parse_error::ok));
        if (r) REQUIRE(r->payload_length <= b.size());
    }
}
