#include "drivers/tap/vnet_header.hpp"

#include <cstring>

namespace coronet {

namespace {

constexpr std::uint8_t known_flags = packet_offload::needs_csum | packet_offload::data_valid;

bool known_gso_type(std::uint8_t t) noexcept {
    switch (t & ~packet_offload::gso_ecn) {
    case packet_offload::gso_tcpv4:
    case packet_offload::gso_udp:
    case packet_offload::gso_tcpv6:
        return true;
    default:
        return false;
    }
}

} // namespace

virtio_net_hdr read_vnet_header(std::span<const std::byte> bytes) noexcept {
    virtio_net_hdr h;
    std::memcpy(&h, bytes.data(), sizeof h);
    return h;
}

result<packet_offload> to_offload(const virtio_net_hdr& h, std::size_t frame_bytes) noexcept {
    packet_offload o;
    o.flags = static_cast<std::uint8_t>(h.flags & known_flags);
    if (o.flags & packet_offload::needs_csum) {
        // The 16-bit checksum field must lie inside the frame.
        if (std::size_t{h.csum_start} + h.csum_offset + 2 > frame_bytes) return error{EINVAL};
        o.csum_start = h.csum_start;
        o.csum_offset = h.csum_offset;
    }
    if (h.gso_type != packet_offload::gso_none) {
        if (!known_gso_type(h.gso_type) || h.gso_size == 0 || h.hdr_len > frame_bytes)
            return error{EINVAL};
        o.gso_type = h.gso_type;
        o.gso_size = h.gso_size;
        o.hdr_len = h.hdr_len;
    }
    return o;
}

virtio_net_hdr to_vnet_header(const packet_offload& o) noexcept {
    virtio_net_hdr h{};
    h.flags = static_cast<std::uint8_t>(o.flags & known_flags);
    if (o.flags & packet_offload::needs_csum) {
        h.csum_start = o.csum_start;
        h.csum_offset = o.csum_offset;
    }
    if (o.gso_type != packet_offload::gso_none) {
        h.gso_type = o.gso_type;
        h.gso_size = o.gso_size;
        h.hdr_len = o.hdr_len;
    }
    return h;
}

} // namespace coronet
