#pragma once
// copy_frame: a frame copied into fresh buffers of a given pool, with a few bytes written
// over on the way (a corrupted byte, a checksum a NIC fills in). The in-memory wire uses it
// to "DMA" a frame into the receiving NIC's own buffers; fault_stage uses it to corrupt a
// private copy, since the original's buffers may be shared (a TCP send buffer keeps the
// payload for retransmission) and shared bytes are never written.
#include "drivers/faults/fault_model.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"

#include <cstddef>
#include <span>

namespace coronet {

struct byte_patch {
    std::size_t offset = 0;
    std::byte value{};
};

// A copy of `src` in buffers of `pool`, `headroom` bytes kept in front (clamped to a buffer),
// with each patch's byte written at its offset (patches sorted by offset, distinct; those
// past the end are ignored). Adds the bytes copied to `copied`. The copy has fresh metadata.
// ENOBUFS when the pool runs out (nothing is left allocated).
result<packet> copy_frame(const packet& src, buffer_pool& pool, std::uint32_t headroom,
                          counter& copied, std::span<const byte_patch> patches = {});

// Truncation (fault_model.hpp): keeps the first `length` bytes of `frame` and drops its
// offload metadata, which described the whole frame. Only the packet's slices shrink: bytes
// shared with others (a TCP send buffer's) are untouched.
void truncate_frame(packet& frame, std::size_t length) noexcept;

// The patch that applies corruption `c` to `frame` (offset within the frame).
byte_patch corruption_patch(const packet& frame, const corruption& c);

} // namespace coronet
