// The virtio_net_hdr <-> packet_offload mapping of the TAP driver, against literal header
// values (no device needed): what the kernel writes is checked before it is trusted.
#include "drivers/tap/vnet_header.hpp"

#include <array>
#include <bit>
#include <catch2/catch.hpp>
#include <cstring>

using namespace coronet;

namespace {

virtio_net_hdr header(std::uint8_t flags, std::uint8_t gso_type, std::uint16_t hdr_len,
                      std::uint16_t gso_size, std::uint16_t csum_start, std::uint16_t csum_offset) {
    return {flags, gso_type, hdr_len, gso_size, csum_start, csum_offset};
}

} // namespace

TEST_CASE("the header is 10 bytes read in host order", "[tap][vnet]") {
    if constexpr (std::endian::native != std::endian::little)
        return; // the literal below is little-endian
    // flags, gso_type, then four 16-bit fields as a little-endian host lays them out.
    std::array<std::byte, 10> raw{std::byte{1},    std::byte{1},    std::byte{54}, std::byte{0},
                                  std::byte{0xa8}, std::byte{0x05}, std::byte{34}, std::byte{0},
                                  std::byte{16},   std::byte{0}};
    auto h = read_vnet_header(raw);
    CHECK(h.flags == 1);
    CHECK(h.gso_type == 1);
    CHECK(h.hdr_len == 54);
    CHECK(h.gso_size == 1448);
    CHECK(h.csum_start == 34);
    CHECK(h.csum_offset == 16);
}

TEST_CASE("a partial checksum maps to needs_csum with its offsets", "[tap][vnet]") {
    auto o = to_offload(header(1, 0, 0, 0, 34, 6), 60);
    REQUIRE(o);
    CHECK(o->flags == packet_offload::needs_csum);
    CHECK(o->csum_start == 34);
    CHECK(o->csum_offset == 6);
    CHECK(o->gso_type == packet_offload::gso_none);
    CHECK(is_offload_frame(*o));
}

TEST_CASE("a validated checksum maps to data_valid; unknown flag bits are ignored", "[tap][vnet]") {
    auto o = to_offload(header(2 | 4, 0, 0, 0, 0, 0), 60);
    REQUIRE(o);
    CHECK(o->flags == packet_offload::data_valid);
    CHECK_FALSE(is_offload_frame(*o));
}

TEST_CASE("a large TCP segment maps with its sizes", "[tap][vnet]") {
    auto o = to_offload(
        header(1, packet_offload::gso_tcpv4 | packet_offload::gso_ecn, 66, 1448, 34, 16), 30000);
    REQUIRE(o);
    CHECK(o->gso_type == (packet_offload::gso_tcpv4 | packet_offload::gso_ecn));
    CHECK(o->gso_size == 1448);
    CHECK(o->hdr_len == 66);
}

TEST_CASE("a header pointing outside its frame is refused", "[tap][vnet]") {
    CHECK(to_offload(header(1, 0, 0, 0, 58, 1), 60).error() ==
          EINVAL);                                    // checksum field past the end
    CHECK(to_offload(header(1, 0, 0, 0, 58, 0), 60)); // the last two bytes: fine
    CHECK(to_offload(header(0, 1, 61, 1000, 0, 0), 60).error() ==
          EINVAL); // headers longer than the frame
    CHECK(to_offload(header(0, 1, 54, 0, 0, 0), 60).error() == EINVAL); // segments of no bytes
    CHECK(to_offload(header(0, 2, 54, 1000, 0, 0), 60).error() ==
          EINVAL); // no such segmentation type
}

TEST_CASE("an outgoing header carries what the packet asks of the other side", "[tap][vnet]") {
    packet_offload o;
    auto none = to_vnet_header(o);
    CHECK(none.flags == 0);
    CHECK(none.gso_type == 0);
    CHECK(none.csum_start == 0);

    o.flags = packet_offload::needs_csum;
    o.csum_start = 34;
    o.csum_offset = 16;
    o.gso_type = packet_offload::gso_tcpv4;
    o.gso_size = 1448;
    o.hdr_len = 66;
    auto h = to_vnet_header(o);
    CHECK(h.flags == 1);
    CHECK(h.csum_start == 34);
    CHECK(h.csum_offset == 16);
    CHECK(h.gso_type == 1);
    CHECK(h.gso_size == 1448);
    CHECK(h.hdr_len == 66);

    // Offsets that mean nothing without their flag are not sent.
    packet_offload stale;
    stale.csum_start = 34;
    stale.hdr_len = 66;
    auto clean = to_vnet_header(stale);
    CHECK(clean.csum_start == 0);
    CHECK(clean.hdr_len == 0);
}
