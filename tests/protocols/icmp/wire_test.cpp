#include "protocols/icmp/wire.hpp"

#include "protocols/checksum/checksum.hpp"

#include <catch2/catch.hpp>
#include "tests/protocols/hex.hpp"

#include <random>
#include <string>
#include <vector>

using namespace coronet;

namespace {

using testing::hex;

// An echo request sent through a Linux ping socket, as ping sends it: identifier chosen by
// the kernel, sequence 1, 56 bytes of data (a timestamp, then 0x10..0x37). Captured on TAP.
const auto echo_request = hex("08 00 f759 ab99 0001"
                              "00f1536500000000 40e2010000000000"
                              "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
                              "3031323334353637");
// The reply a host sends back: type 0, the same identifier, sequence and data.
const auto echo_reply = hex("00 00 ff59 ab99 0001"
                            "00f1536500000000 40e2010000000000"
                            "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
                            "3031323334353637");
// Linux's port unreachable for a UDP datagram to 10.0.0.1:9 (captured); it quotes the whole
// 33-byte datagram, more than the 28 that RFC 792 asks for.
const auto port_unreachable =
    hex("03 03 111e 00000000"
        "450000211c46400040110a840a0000020a000001 9c400009000d0bb6 68656c6c6f");
// The IPv4 header and first 8 bytes of a DNS query (captured), as an error message quotes them.
const auto quoted_dns = hex("45000039482140004011de900a0000010a000002 cf84003500253a46");
// Time exceeded in transit for that query, checksum computed by a reference implementation.
const auto ttl_exceeded =
    hex("0b 00 eada 00000000 45000039482140004011de900a0000010a000002 cf84003500253a46");

} // namespace

TEST_CASE("icmp parses a captured echo request") {
    auto r = icmp::parse(echo_request);
    REQUIRE(r);
    CHECK(r->type == icmp::message::echo_request);
    CHECK(r->code == 0);
    CHECK(r->identifier == 0xab99);
    CHECK(r->sequence == 1);
    CHECK(r->data.size() == 56);
    CHECK(r->data.data() == echo_request.data() + 8);
}

TEST_CASE("icmp emit(parse(bytes)) gives every message back") {
    for (const auto& message : {echo_request, echo_reply, port_unreachable, ttl_exceeded}) {
        auto r = icmp::parse(message).value();
        std::vector<std::byte> out(r.buffer_len());
        CHECK(icmp::emit(r, out) == message.size());
        CHECK(out == message);
    }
}

TEST_CASE("an echo reply is built in place over the request") {
    auto buffer = echo_request;
    auto r = icmp::parse(buffer).value();
    r.type = icmp::message::echo_reply;
    CHECK(icmp::emit(r, buffer) == 64);
    CHECK(buffer == echo_reply);
}

TEST_CASE("icmp error messages carry the original datagram") {
    auto r = icmp::parse(port_unreachable).value();
    CHECK(r.type == icmp::message::destination_unreachable);
    CHECK(r.code == icmp::unreachable::port);
    CHECK(r.data.size() == 33);
    icmp::repr fragmentation{.type = icmp::message::destination_unreachable,
                             .code = icmp::unreachable::fragmentation_needed,
                             .next_hop_mtu = 1400,
                             .data = quoted_dns};
    std::vector<std::byte> out(fragmentation.buffer_len());
    icmp::emit(fragmentation, out);
    CHECK(out ==
          hex("03 04 ed5e 0000 0578 45000039482140004011de900a0000010a000002 cf84003500253a46"));
    CHECK(icmp::parse(out).value() == fragmentation);
}

TEST_CASE("quote takes the IP header and 8 bytes") {
    auto datagram = hex("45000039482140004011de900a0000010a000002 cf84003500253a46 123401000001");
    CHECK(std::ranges::equal(icmp::quote(datagram), quoted_dns));
    CHECK(icmp::quote(std::span(datagram).first(10)).size() == 10);
    CHECK(icmp::quote({}).empty());
    auto with_options =
        hex("46000039482140004011de900a0000010a000002 01010100 cf84003500253a46 1234");
    CHECK(icmp::quote(with_options).size() == 32);
}

TEST_CASE("icmp refuses malformed messages with the reason") {
    struct row {
        const char* what;
        std::vector<std::byte> message;
        icmp::parse_error reason;
        int error;
    };
    auto flipped = echo_request;
    flipped[20] ^= std::byte{0x01};
    auto redirect =
        hex("05 00 0000 0a000001 45000039482140004011de900a0000010a000002 cf84003500253a46");
    store_be16(std::span(redirect).subspan(2), checksum::compute(redirect));
    auto short_quote = hex("0b 00 0000 00000000 45000039482140004011de900a0000010a000002 cf84");
    store_be16(std::span(short_quote).subspan(2), checksum::compute(short_quote));
    auto not_ipv4 = ttl_exceeded;
    not_ipv4[8] = std::byte{0x65};
    store_be16(std::span(not_ipv4).subspan(2), 0);
    store_be16(std::span(not_ipv4).subspan(2), checksum::compute(not_ipv4));
    const row rows[] = {
        {"empty", {}, icmp::parse_error::truncated, ENODATA},
        {"7 bytes", hex("08 00 f7ff 0000 00"), icmp::parse_error::truncated, ENODATA},
        {"a flipped data bit", flipped, icmp::parse_error::bad_checksum, EBADMSG},
        {"a redirect", redirect, icmp::parse_error::unsupported_type, EPROTONOSUPPORT},
        {"a quote shorter than header + 8", short_quote, icmp::parse_error::bad_original_datagram,
         EINVAL},
        {"a quote that is not IPv4", not_ipv4, icmp::parse_error::bad_original_datagram, EINVAL},
    };
    for (const auto& r : rows) {
        auto p = icmp::parse(r.message);
        INFO(r.what);
        CHECK(p.reason() == r.reason);
        CHECK(p.error() == r.error);
    }
}

TEST_CASE("an icmp message cut at every length is refused") {
    for (std::size_t n = 0; n < echo_request.size(); ++n) {
        auto r = icmp::parse(std::span(echo_request).first(n));
        INFO("length " << n);
        CHECK(r.reason() ==
              (n < 8 ? icmp::parse_error::truncated : icmp::parse_error::bad_checksum));
    }
    for (std::size_t n = 8; n < 28; ++n) {
        auto r = icmp::parse(std::span(port_unreachable).first(n), {.verify_checksum = false});
        CHECK(r.reason() == icmp::parse_error::bad_original_datagram);
    }
}

TEST_CASE("icmp survives random bytes") {
    std::mt19937 rng(792);
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b(rng() % 80);
        for (auto& x : b)
            x = static_cast<std::byte>(rng());
        if (!b.empty()) b[0] = std::byte{std::array<std::uint8_t, 4>{0, 3, 8, 11}[rng() % 4]};
        auto r = icmp::parse(b, {.verify_checksum = false});
        REQUIRE(r.has_value() == (r.reason() == icmp::parse_error::ok));
    }
}
