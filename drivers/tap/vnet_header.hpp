#pragma once
// The struct virtio_net_hdr in front of every frame on a TAP device opened with
// IFF_VNET_HDR (virtio 1.1 §5.1.6.1), and the packet_offload it maps to. packet_offload
// mirrors the header field for field, so the mapping is plain copies; what is added here is
// the check on a header the kernel wrote (untrusted bytes: its offsets must lie inside the
// frame) and the choice of what coronet passes on when it writes one.
//
// The struct is spelled out here: <linux/virtio_net.h> does not compile as C++ (a field is
// named `class`). Fields are in the host's byte order: tun's legacy virtio mode, which
// coronet leaves on (TUNSETVNETLE/BE not set). The flag and type values are those of
// packet_offload (VIRTIO_NET_HDR_F_*, VIRTIO_NET_HDR_GSO_*).
#include "framework/buffer/packet_metadata.hpp"
#include "framework/result.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace coronet {

struct virtio_net_hdr {
    std::uint8_t flags;
    std::uint8_t gso_type;
    std::uint16_t hdr_len;     // Ethernet + IP + TCP/UDP headers of a large segment
    std::uint16_t gso_size;    // payload bytes per segment
    std::uint16_t csum_start;  // from the frame's first byte
    std::uint16_t csum_offset; // from csum_start
};

inline constexpr std::size_t vnet_header_bytes = sizeof(virtio_net_hdr);
static_assert(vnet_header_bytes == 10);

// The header at the front of `bytes`, which holds at least vnet_header_bytes.
virtio_net_hdr read_vnet_header(std::span<const std::byte> bytes) noexcept;

// What the header says about the `frame_bytes` bytes of frame after it. EINVAL when it
// points outside the frame or names a segmentation type that does not exist.
result<packet_offload> to_offload(const virtio_net_hdr& h, std::size_t frame_bytes) noexcept;

// The header for a frame leaving with `o`: needs_csum and data_valid pass on with their
// offsets, a segmentation request with its sizes; nothing else.
virtio_net_hdr to_vnet_header(const packet_offload& o) noexcept;

// A frame that asks the other side for work: a partial checksum or a large segment.
inline bool is_offload_frame(const packet_offload& o) noexcept {
    return (o.flags & packet_offload::needs_csum) != 0 || o.gso_type != packet_offload::gso_none;
}

} // namespace coronet
