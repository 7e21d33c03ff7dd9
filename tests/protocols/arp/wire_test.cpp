#include "protocols/arp/wire.hpp"

#include <catch2/catch.hpp>
#include "tests/protocols/hex.hpp"

#include <random>
#include <string>
#include <vector>

using namespace coronet;

namespace {

using testing::hex;

// Linux asking for 10.0.0.2 from 10.0.0.1 on a TAP device (captured, Ethernet header removed).
const auto request = hex("0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002");
// The answer 10.0.0.2 (02:00:00:00:00:02) gave, which Linux accepted.
const auto reply = hex("0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001");

} // namespace

TEST_CASE("arp parses a captured request") {
    auto r = arp::parse(request);
    REQUIRE(r);
    CHECK(r->operation == arp::operation::request);
    CHECK(r->sender_mac == mac_address{2, 0, 0, 0, 0, 1});
    CHECK(r->sender_ip == ipv4_address{10, 0, 0, 1});
    CHECK(r->target_mac == mac_address{});
    CHECK(r->target_ip == ipv4_address{10, 0, 0, 2});
}

TEST_CASE("arp emit(parse(bytes)) gives the bytes back") {
    for (const auto& packet : {request, reply}) {
        auto r = arp::parse(packet).value();
        std::vector<std::byte> out(r.buffer_len());
        CHECK(arp::emit(r, out) == 28);
        CHECK(out == packet);
    }
    auto r = arp::parse(reply).value();
    CHECK(r.operation == arp::operation::reply);
    CHECK(r.target_mac == mac_address{2, 0, 0, 0, 0, 1});
}

TEST_CASE("arp ignores Ethernet padding after the 28 bytes") {
    auto padded = request;
    padded.resize(46);
    CHECK(arp::parse(padded).value() == arp::parse(request).value());
}

TEST_CASE("arp refuses malformed packets with the reason") {
    struct row {
        const char* what;
        std::size_t at;
        unsigned value;
        arp::parse_error reason;
        int error;
    };
    const row rows[] = {
        {"hardware type 6 (IEEE 802)", 1, 6, arp::parse_error::bad_hardware_type, EPROTONOSUPPORT},
        {"protocol type 0x86dd", 2, 0x86, arp::parse_error::bad_protocol_type, EPROTONOSUPPORT},
        {"hardware length 8", 4, 8, arp::parse_error::bad_hardware_length, EPROTONOSUPPORT},
        {"protocol length 16", 5, 16, arp::parse_error::bad_protocol_length, EPROTONOSUPPORT},
        {"operation 3 (RARP request)", 7, 3, arp::parse_error::bad_operation, EPROTONOSUPPORT},
        {"operation 0", 7, 0, arp::parse_error::bad_operation, EPROTONOSUPPORT},
    };
    for (const auto& r : rows) {
        auto packet = request;
        packet[r.at] = static_cast<std::byte>(r.value);
        auto p = arp::parse(packet);
        INFO(r.what);
        CHECK(p.reason() == r.reason);
        CHECK(p.error() == r.error);
    }
}

TEST_CASE("an arp packet cut at every length is truncated") {
    for (std::size_t n = 0; n < request.size(); ++n) {
        auto p = arp::parse(std::span(request).first(n));
        INFO("length " << n);
        CHECK(p.reason() == arp::parse_error::truncated);
        CHECK(p.error() == ENODATA);
    }
}

TEST_CASE("arp survives random bytes") {
    std::mt19937 rng(826);
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b(rng() % 40);
        for (auto& x : b)
            x = static_cast<std::byte>(rng());
        if (b.size() > 7 && i % 2 == 0) std::copy(request.begin(), request.begin() + 6, b.begin());
        auto p = arp::parse(b);
        CHECK((p.has_value() == (p.reason() == arp::parse_error::ok)));
    }
}
