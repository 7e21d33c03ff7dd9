#pragma once
// TCP segmentation offload as a NIC's hardware does it (and Linux's tcp_gso_segment in
// software): a gso_tcpv4 frame, Ethernet + IPv4 + TCP headers in front of up to 64 KiB of
// payload, is cut into frames of gso_size payload bytes each, every one with a copy of the
// headers, fixed up:
//   IPv4: total length, identification (+1 per segment), header checksum;
//   TCP:  sequence number (+gso_size per segment), FIN and PSH only on the last segment,
//         CWR only on the first; the checksum field holds the pseudo-header sum of the
//         segment's length and the segment is sent with needs_csum for the NIC to finish.
// The payload is not copied: each segment's data is a split() of the frame's, sharing its
// buffers (the TCP send buffer's), as ipv4::fragment does; only the headers are new.
#include "framework/buffer/packet.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace coronet {

struct tso_layout {
    std::size_t tcp_offset = 0;   // where the TCP header starts in the frame
    std::size_t header_bytes = 0; // Ethernet + IPv4 + TCP headers, options included
    std::size_t payload_bytes = 0;
    std::size_t mss = 0; // gso_size
    std::size_t segments() const noexcept { return (payload_bytes + mss - 1) / mss; }
    // The bytes the segments take on the wire, headers repeated.
    std::size_t wire_bytes() const noexcept { return payload_bytes + segments() * header_bytes; }
};

// The layout of a gso_tcpv4 frame with needs_csum, its headers checked against each other
// and the frame's length; EINVAL when the frame is not one (another GSO type, no partial
// checksum, an IPv4 header with a wrong length or protocol, hdr_len not the headers' length,
// gso_size 0, or no payload).
result<tso_layout> parse_tso(const packet& frame);

// Rewrites `headers` (a copy of the frame's) for the segment at `index` carrying
// `payload_bytes`, `last` for the final one; the fix-ups listed at the top.
void fix_segment_headers(std::span<std::byte> headers, const tso_layout& layout, std::size_t index,
                         std::size_t payload_bytes, bool last) noexcept;

// Cuts `frame` into its segments and hands each to `out` (which returns result<>), in order.
// Returns the number of segments; EINVAL for a frame parse_tso refuses (nothing is sent);
// ENOBUFS when header buffers or descriptors run out (the segments before were sent).
template <class Out>
result<std::size_t> segment_tso(packet&& frame, Out&& out) {
    auto layout = parse_tso(frame);
    if (!layout) return error{layout.error()};
    std::byte original[14 + 60 + 60];
    const std::span headers(original, layout->header_bytes);
    if (auto r = frame.copy_out(0, headers); !r) return error{r.error()};
    if (auto r = frame.pull_header(layout->header_bytes); !r) return error{r.error()};

    packet data = std::move(frame);
    std::size_t index = 0;
    for (bool last = false; !last; ++index) {
        packet rest;
        last = data.length() <= layout->mss;
        if (!last) {
            auto tail = data.split(layout->mss);
            if (!tail) return error{tail.error()};
            rest = std::move(*tail);
        }
        const std::size_t payload = data.length();
        auto room = data.push_header(static_cast<std::uint32_t>(layout->header_bytes));
        if (!room) return error{room.error()};
        std::copy(headers.begin(), headers.end(), room->begin());
        fix_segment_headers(*room, *layout, index, payload, last);
        auto& o = data.meta().offload;
        o = packet_offload{};
        o.flags = packet_offload::needs_csum;
        o.csum_start = static_cast<std::uint16_t>(layout->tcp_offset);
        o.csum_offset = 16; // the TCP checksum field
        if (auto r = out(std::move(data)); !r) return error{r.error()};
        data = std::move(rest);
    }
    return index;
}

} // namespace coronet
