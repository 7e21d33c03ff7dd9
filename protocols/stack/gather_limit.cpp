// The NIC's gather limit (nic_features::max_tx_slices): a frame made of more slices than the
// driver takes at once (a TAP's iovecs per writev, a NIC's descriptors per packet) is copied
// into fewer buffers before it leaves, as Linux's skb_linearize does for a device that cannot
// take the skb's fragments. Many small send_zc slices make such frames, and so do small
// TCP_NODELAY writes, each landing in a buffer of its own while the previous one is in flight;
// refused by the driver, the segment was lost, and TCP waited for an RTO, or for ever with
// nothing in flight. The copy is counted (ethernet.bytes_copied_linearized, frames in
// ethernet.out_linearized): zero copy is measured, not claimed.
//
// A TSO frame too long for the limit even in full buffers (limit * buffer size under its
// length) is first cut into its segments, as the NIC would (Linux's software GSO), and each
// segment then copied if it still needs to be. A frame that cannot be made to fit (a pool of
// buffers too small for one frame within the limit) is dropped and counted.
#include "drivers/faults/frame_copy.hpp"
#include "drivers/wire/tcp_segmentation.hpp"
#include "protocols/stack/native_stack.hpp"

namespace coronet::native {

result<> native_stack::transmit_within_gather_limit(interface& out, packet&& frame) {
    const std::uint32_t limit = out.card().features().max_tx_slices;
    if (limit == 0 || frame.slice_count() <= limit) [[likely]]
        return out.card().transmit(std::move(frame));
    auto& s = stats_.ethernet;
    const std::size_t buffer = pool_->buffer_size();
    const bool gso = frame.meta().offload.gso_type != packet_offload::gso_none;
    if (gso && (frame.length() + buffer - 1) / buffer > limit) {
        ++s.out_gso_segmented;
        auto n = segment_tso(std::move(frame), [&](packet&& segment) {
            return transmit_within_gather_limit(out, std::move(segment));
        });
        if (!n) return error{n.error()};
        return {};
    }
    auto copy = copy_frame(frame, *pool_, 0, s.bytes_copied_linearized);
    // No buffer for the copy: the pool's want, not a full queue (tcp/network.hpp's ENOMEM).
    if (!copy) return error{ENOMEM};
    if (copy->slice_count() > limit) {
        ++s.out_dropped_too_many_slices;
        return error{EMSGSIZE};
    }
    copy->meta() = frame.meta();
    ++s.out_linearized;
    return out.card().transmit(std::move(*copy));
}

} // namespace coronet::native
