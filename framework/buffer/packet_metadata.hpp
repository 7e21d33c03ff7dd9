#pragma once
// What travels with a packet besides its bytes: offload requests and results, and a time.
// The offload fields mirror struct virtio_net_hdr (virtio 1.1 §5.1.6.1), which is what the
// TAP device speaks, so the driver converts with plain field copies.
//
// csum_start and hdr_len count from the packet's current front, as virtio counts from the
// frame's first byte: push_header/pull_header move them with the front, so TCP output can say
// "checksum from my header on" (csum_start 0) and the frame leaves with csum_start 34.
#include <cstdint>

namespace coronet {

struct packet_offload {
    // flags (VIRTIO_NET_HDR_F_*)
    static constexpr std::uint8_t needs_csum = 1; // fill the checksum at csum_start + csum_offset
    static constexpr std::uint8_t data_valid = 2; // the checksum was verified by the other side
    // gso_type (VIRTIO_NET_HDR_GSO_*)
    static constexpr std::uint8_t gso_none = 0;
    static constexpr std::uint8_t gso_tcpv4 = 1;
    static constexpr std::uint8_t gso_udp = 3;
    static constexpr std::uint8_t gso_tcpv6 = 4;
    static constexpr std::uint8_t gso_ecn = 0x80;

    std::uint8_t flags = 0;
    std::uint8_t gso_type = gso_none;
    std::uint16_t hdr_len = 0;     // headers in front of the payload, when gso_type is set
    std::uint16_t gso_size = 0;    // payload bytes per segment
    std::uint16_t csum_start = 0;  // where the checksummed bytes begin
    std::uint16_t csum_offset = 0; // where the checksum goes, from csum_start
};

struct packet_metadata {
    packet_offload offload;
    // When the NIC delivered the frame (or the stack made it), in nanoseconds of the clock the
    // caller uses; 0 when nobody set it.
    std::int64_t timestamp_ns = 0;

    // The front moved n bytes earlier (a header was pushed).
    void front_pushed(std::uint32_t n) noexcept {
        if (offload.flags & packet_offload::needs_csum)
            offload.csum_start = static_cast<std::uint16_t>(offload.csum_start + n);
        if (offload.gso_type != packet_offload::gso_none)
            offload.hdr_len = static_cast<std::uint16_t>(offload.hdr_len + n);
    }
    // The front moved n bytes later (a header was pulled). Pulling past the checksummed bytes
    // or the headers leaves nothing for the offload to act on: it is dropped.
    void front_pulled(std::uint32_t n) noexcept {
        if (offload.flags & packet_offload::needs_csum) {
            if (n <= offload.csum_start)
                offload.csum_start = static_cast<std::uint16_t>(offload.csum_start - n);
            else
                offload.flags =
                    static_cast<std::uint8_t>(offload.flags & ~packet_offload::needs_csum);
        }
        if (offload.gso_type != packet_offload::gso_none) {
            if (n < offload.hdr_len)
                offload.hdr_len = static_cast<std::uint16_t>(offload.hdr_len - n);
            else
                offload = packet_offload{.flags = offload.flags};
        }
    }
};

} // namespace coronet
