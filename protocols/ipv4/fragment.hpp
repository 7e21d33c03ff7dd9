#pragma once
// Fragmentation of an outgoing datagram (RFC 791 §2.3 and §3.2), without copying payload:
// each fragment's data is a split() of the payload packet, sharing its buffers, and gets its
// own 20-byte header in front (in a new head buffer where the buffer is shared).
#include "framework/buffer/packet.hpp"
#include "protocols/ipv4/wire.hpp"

#include <cerrno>
#include <cstddef>
#include <utility>

namespace coronet::ipv4 {

// The data bytes one fragment may carry under `mtu`: a multiple of 8, since the fragment
// offset counts 8-octet units. RFC 791 §3.2, "An Example Fragmentation Procedure":
//   NFB <- (MTU - IHL*4) / 8      (the number of fragment blocks)
//   the first fragment carries data octets 1 to NFB*8, with MF <- 1.
constexpr std::size_t fragment_data_bytes(std::size_t mtu) noexcept {
    return mtu < min_header_length ? 0 : (mtu - min_header_length) / 8 * 8;
}

// Cuts `payload` (the datagram's data: the transport header and what follows) into
// fragments that fit `mtu` and hands each, IPv4 header included, to `out`, which returns
// result<>. `header` is the datagram's header; its fragment offset and MF flag are the
// original's when a forwarded fragment is fragmented again (RFC 791: "FO <- OFO + NFB";
// the last piece keeps the original MF). Returns the number of fragments; EMSGSIZE when the
// MTU cannot carry 8 bytes of data; ENOBUFS when descriptors or header buffers run out.
template <class Out>
result<std::size_t> fragment(packet&& payload, repr header, std::size_t mtu, Out&& out) {
    const std::size_t chunk = fragment_data_bytes(mtu);
    if (chunk == 0) return error{EMSGSIZE};
    const std::uint16_t base = header.fragment_offset;
    const bool original_mf = header.more_fragments;
    std::size_t done = 0;
    std::size_t count = 0;
    while (!payload.empty() || count == 0) {
        packet rest;
        const bool last = payload.length() <= chunk;
        if (!last) {
            auto tail = payload.split(chunk);
            if (!tail) return error{tail.error()};
            rest = std::move(*tail);
        }
        repr f = header;
        f.fragment_offset = static_cast<std::uint16_t>(base + done / 8);
        f.more_fragments = !last || original_mf;
        f.payload_length = static_cast<std::uint16_t>(payload.length());
        done += payload.length();
        auto h = payload.push_header(min_header_length);
        if (!h) return error{h.error()};
        emit(f, *h);
        if (auto r = out(std::move(payload)); !r) return error{r.error()};
        ++count;
        payload = std::move(rest);
        if (last) break;
    }
    return count;
}

} // namespace coronet::ipv4
