#include "protocols/ethernet/wire.hpp"

#include <catch2/catch.hpp>
#include "tests/protocols/hex.hpp"

#include <string>
#include <vector>

using namespace coronet;

namespace {

using testing::hex;

// The ARP request Linux broadcast from a TAP device (10.0.0.1, 02:00:00:00:00:01) asking for
// 10.0.0.2, captured as read from the device.
const auto arp_frame = hex("ffffffffffff 020000000001 0806"
                           "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002");

} // namespace

TEST_CASE("ethernet parses a captured ARP broadcast") {
    auto r = ethernet::parse(arp_frame);
    REQUIRE(r);
    CHECK(r.reason() == ethernet::parse_error::ok);
    CHECK(r->destination == mac_broadcast);
    CHECK(r->source == mac_address{2, 0, 0, 0, 0, 1});
    CHECK(r->ethertype == ethernet::ethertype::arp);
    auto v = ethernet::view::check(arp_frame).value();
    CHECK(v.payload().size() == 28);
    CHECK(v.payload().data() == arp_frame.data() + 14);
}

TEST_CASE("ethernet emit writes the captured header back") {
    std::vector<std::byte> out(14);
    ethernet::repr r{{2, 0, 0, 0, 0, 1}, mac_broadcast, ethernet::ethertype::arp};
    CHECK(ethernet::emit(r, out) == 14);
    CHECK(out == std::vector(arp_frame.begin(), arp_frame.begin() + 14));
    CHECK(ethernet::parse(out).value() == r);
}

TEST_CASE("an unknown or tagged ethertype is just a value") {
    auto frame = arp_frame;
    frame[12] = std::byte{0x81}; // 802.1Q tag: parsed, left to the input path
    frame[13] = std::byte{0x00};
    CHECK(ethernet::parse(frame)->ethertype == ethernet::ethertype::vlan);
    frame[12] = std::byte{0x12};
    frame[13] = std::byte{0x34};
    CHECK(static_cast<std::uint16_t>(ethernet::parse(frame)->ethertype) == 0x1234);
}

TEST_CASE("an ethernet frame shorter than 14 bytes is truncated, at every length") {
    for (std::size_t n = 0; n < 14; ++n) {
        auto r = ethernet::parse(std::span(arp_frame).first(n));
        INFO("length " << n);
        CHECK(r.reason() == ethernet::parse_error::truncated);
        CHECK(r.error() == ENODATA);
        CHECK(ethernet::name(r.reason()) == "truncated");
    }
    CHECK(ethernet::parse(std::span(arp_frame).first(14)));
}

TEST_CASE("ethernet emit into a short buffer is a bug and throws") {
    std::vector<std::byte> out(13);
    CHECK_THROWS_AS(ethernet::emit({}, out), std::length_error);
}

TEST_CASE("a mutable view writes the fields a view reads") {
    std::vector<std::byte> frame(60);
    auto m = ethernet::mutable_view::check(frame).value();
    m.set_destination({2, 0, 0, 0, 0, 2});
    m.set_ethertype(ethernet::ethertype::ipv4);
    ethernet::view v = m;
    CHECK(v.destination() == mac_address{2, 0, 0, 0, 0, 2});
    CHECK(v.ethertype() == ethernet::ethertype::ipv4);
    CHECK(v.payload().size() == 46);
}
