#include "protocols/udp/wire.hpp"

#include <catch2/catch.hpp>
#include "tests/protocols/hex.hpp"

#include <random>
#include <string>
#include <vector>

using namespace coronet;

namespace {

using testing::hex;

// A DNS query for example.com A that Linux sent from 10.0.0.1:53124 to 10.0.0.2:53
// (captured on TAP, IP header removed).
const auto dns_query = hex("cf84 0035 0025 3a46"
                           "1234 0100 0001 0000 0000 0000 076578616d706c6503636f6d0000010001");
const udp::addresses ip{{10, 0, 0, 1}, {10, 0, 0, 2}};

} // namespace

TEST_CASE("udp parses a captured DNS query and verifies its checksum") {
    auto r = udp::parse(dns_query, ip);
    REQUIRE(r);
    CHECK(r->source_port == port{53124});
    CHECK(r->destination_port == port{53});
    CHECK(r->payload_length == 29);
    auto v = udp::view::check(dns_query).value();
    CHECK(v.payload().data() == dns_query.data() + 8);
    CHECK(v.payload().size() == 29);
}

TEST_CASE("udp emit(parse(bytes)) gives the datagram back, checksum included") {
    auto r = udp::parse(dns_query, ip).value();
    auto out = dns_query;
    std::fill(out.begin(), out.begin() + 8, std::byte{0});
    CHECK(udp::emit(r, out, ip) == 8);
    CHECK(out == dns_query);
}

TEST_CASE("udp emit_header sums a payload held elsewhere") {
    auto r = udp::parse(dns_query, ip).value();
    const auto payload = std::span(dns_query).subspan(8);
    checksum::partial sum;
    sum.add(payload.first(5)).add(payload.subspan(5)); // two slices, the second at an odd offset
    std::vector<std::byte> header(8);
    udp::emit_header(r, header, ip, sum.sum());
    CHECK(std::ranges::equal(header, std::span(dns_query).first(8)));
}

TEST_CASE("udp checksum: zero means none on receive, a computed zero is sent as ffff") {
    auto none = dns_query;
    none[6] = none[7] = std::byte{0};
    CHECK(udp::parse(none, ip));
    // Choose a payload word that makes the computed checksum 0: RFC 768 sends 0xffff instead.
    auto data = dns_query;
    std::span payload = std::span(data).subspan(8);
    store_be16(payload, 0);
    udp::repr r{53124, 53, 29};
    udp::emit(r, data, ip);
    const std::uint16_t c = load_be16(std::span(data).subspan(6));
    store_be16(payload, c); // adds c to the sum, whose complement then becomes 0
    udp::emit(r, data, ip);
    CHECK(load_be16(std::span(data).subspan(6)) == 0xffff);
    CHECK(udp::parse(data, ip));
}

TEST_CASE("udp leaves IP padding beyond its length out of the payload") {
    auto padded = dns_query;
    padded.resize(dns_query.size() + 5, std::byte{0xee});
    auto v = udp::view::check(padded).value();
    CHECK(v.payload().size() == 29);
    CHECK(udp::parse(v, ip));
}

TEST_CASE("udp refuses malformed datagrams with the reason") {
    struct row {
        const char* what;
        std::size_t at;
        unsigned value;
        udp::parse_error reason;
        int error;
    };
    const row rows[] = {
        {"length 7", 5, 7, udp::parse_error::bad_length, EINVAL},
        {"length 0", 5, 0, udp::parse_error::bad_length, EINVAL},
        {"length one past the IP payload", 5, 0x26, udp::parse_error::bad_length, EINVAL},
        {"a flipped payload bit", 20, 0x79, udp::parse_error::bad_checksum, EBADMSG},
        {"a wrong checksum", 7, 0x47, udp::parse_error::bad_checksum, EBADMSG},
    };
    for (const auto& r : rows) {
        auto d = dns_query;
        d[r.at] = static_cast<std::byte>(r.value);
        auto p = udp::parse(d, ip);
        INFO(r.what);
        CHECK(p.reason() == r.reason);
        CHECK(p.error() == r.error);
    }
    // The checksum covers the pseudo-header: the wrong destination address fails it.
    CHECK(udp::parse(dns_query, {{10, 0, 0, 1}, {10, 0, 0, 3}}).reason() ==
          udp::parse_error::bad_checksum);
    CHECK(udp::parse(dns_query, {{10, 0, 0, 1}, {10, 0, 0, 3}}, {.verify_checksum = false}));
}

TEST_CASE("a udp datagram cut at every length is refused") {
    for (std::size_t n = 0; n < dns_query.size(); ++n) {
        auto r = udp::parse(std::span(dns_query).first(n), ip);
        INFO("length " << n);
        CHECK(r.reason() == (n < 8 ? udp::parse_error::truncated : udp::parse_error::bad_length));
    }
}

TEST_CASE("udp emit refuses what it cannot encode") {
    std::vector<std::byte> out(8);
    CHECK_THROWS_AS(udp::emit_header(udp::repr{1, 2, 65528}, out, ip, 0), std::length_error);
    CHECK_THROWS_AS(udp::emit(udp::repr{1, 2, 1}, out, ip), std::length_error);
}

TEST_CASE("udp survives random bytes") {
    std::mt19937 rng(768);
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b(rng() % 40);
        for (auto& x : b)
            x = static_cast<std::byte>(rng());
        if (b.size() >= 8 && i % 2 == 0)
            store_be16(std::span(b).subspan(4), static_cast<std::uint16_t>(rng() % 48));
        auto r = udp::parse(b, ip);
        REQUIRE(r.has_value() == (r.reason() == udp::parse_error::ok));
    }
}
