#pragma once
// The checksum a NIC with transmit checksum offload fills in before the frame leaves it,
// generic as in virtio (virtio 1.1 §5.1.6.2): the Internet checksum (RFC 1071) of the bytes
// from csum_start to the end of the frame, whose checksum field already holds the pseudo-
// header sum, is folded, complemented and stored at csum_start + csum_offset (a result of 0
// is sent as 0xffff, as Linux's skb_checksum_help does, which UDP needs and TCP tolerates).
// No protocol knowledge: the offsets say everything.
#include "drivers/faults/frame_copy.hpp"
#include "framework/buffer/packet.hpp"

#include <array>

namespace coronet {

// The two bytes to write into `frame` (which has needs_csum set); EINVAL when the offsets do
// not fit inside the frame.
result<std::array<byte_patch, 2>> offload_checksum(const packet& frame);

} // namespace coronet
