#pragma once
// tap_nic: a NIC whose wire is a Linux TAP device, read and written through io_uring.
// The kernel's network stack sits at the other end of the wire (DESIGN.md, "native
// stack"), so coronet and Linux talk Ethernet to each other in one namespace.
//
// Receive (tap_rx_ring): the kernel writes each frame into a buffer of this NIC's pool
// posted to a provided-buffer ring; the completion raises the interrupt; the DPC's
// driver_poll adopts the buffer, wraps it into a packet without copying, strips the
// virtio header (pull_header) and maps it into meta().offload, then deliver()s it.
// Transmit (tap_tx_ring): one writev per frame, virtio header from meta().offload then
// the packet's slices; its completion releases the packet; ENOBUFS when every slot is busy,
// tx_ready() woken when one completes.
//
// Offloads. With checksum_offload the device gets TUN_F_CSUM: frames may carry partial
// checksums both ways (features: tx_checksum_offload, rx_checksum_validated). With tso too,
// coronet may send TCP segments up to 64 KiB (features.tso), which the kernel takes whole;
// the kernel hands coronet such segments (TUN_F_TSO4) only if a pool buffer holds one
// (about 64 KiB), since a TAP read fills one buffer per frame; small frames are then copied
// out of those buffers (tap_options::copy_below). kernel_offloads() says what TUNSETOFFLOAD
// accepted.
//
// Start-up failures (no /dev/net/tun: ENOENT; no CAP_NET_ADMIN: EPERM; a pool whose
// buffers cannot hold an MTU-sized frame) throw; see tap_device.hpp. The pool must outlive
// the NIC and serve no other NIC (its release hook is the NIC's). Before the last reference
// goes, shutdown() and let the loop run until stopped(); otherwise the destructor waits in
// the reactor itself for the kernel to let go.
#include "drivers/nic.hpp"
#include "drivers/tap/tap_device.hpp"
#include "drivers/tap/tap_options.hpp"
#include "drivers/tap/tap_rx_ring.hpp"
#include "drivers/tap/tap_tx_ring.hpp"
#include "framework/buffer/buffer_pool.hpp"
#include "framework/uring/reactor.hpp"

#include <optional>
#include <span>

namespace coronet {

class tap_nic final : public nic {
public:
    // Opens the device, posts the receive buffers and starts reading.
    tap_nic(uring::uring_reactor& reactor, counter_registry& registry, buffer_pool& pool,
            tap_options options = {});

    const tap_device& device() const noexcept { return device_; }
    buffer_pool& pool() const noexcept { return pool_; }
    // The pool a received frame of `bytes` (Ethernet header on) is held in, while the copy
    // pool has buffers to spare.
    buffer_pool& pool_for_frame(std::size_t bytes) const noexcept {
        return copies(bytes) ? *copy_pool_ : pool_;
    }
    // The TUN_F_* flags the kernel accepted.
    unsigned kernel_offloads() const noexcept { return device_.offloads(); }
    // Receive runs on one multishot read (false: single reads with buffer selection).
    bool multishot() const noexcept { return rx_.multishot(); }
    unsigned rx_buffers() const noexcept { return rx_.count(); }
    // Receive buffers posted to the kernel now.
    std::uint64_t rx_posted() const noexcept { return rx_.posted(); }
    unsigned tx_in_flight() const noexcept { return tx_.in_flight(); }

    // Stops reading, and transmit refuses with ENETDOWN from now on.
    void shutdown();
    // The kernel holds nothing of this NIC any more.
    bool stopped() const noexcept { return rx_.idle() && tx_.idle(); }

    // Counters of the TAP driver, in the NIC's counter group beside the common ones.
    struct tap_counters {
        explicit tap_counters(counter_group& g) : group(g) {}
        counter_group& group;
        counter& rx_offload_frames =
            group.declare("rx_offload_frames"); // partial checksum or large segment
        counter& rx_checksum_valid =
            group.declare("rx_checksum_valid"); // the kernel vouched for the checksum
        counter& rx_truncated = group.declare("rx_truncated"); // longer than a buffer
        counter& rx_bad_header =
            group.declare("rx_bad_header"); // runt, or virtio offsets outside the frame
        counter& rx_restarts = group.declare("rx_restarts"); // reading resumed after running dry
        counter& rx_copied = group.declare("rx_copied"); // small frames copied (copy_below)
        counter& tx_offload_frames = group.declare("tx_offload_frames");
        counter& tx_short_writes = group.declare("tx_short_writes");
    };
    tap_counters& tap_stats() noexcept { return tap_stats_; }

protected:
    ~tap_nic() override;
    result<> driver_transmit(packet&& frame) override;
    bool driver_poll(unsigned budget) override;

private:
    tap_nic(uring::uring_reactor& reactor, counter_registry& registry, buffer_pool& pool,
            const tap_options& options, tap_device&& device);
    static void on_rx_ready(void* self);
    static void on_tx_space(void* self);
    void receive(uring::selected_buffer b);
    // Whether a frame of `bytes` (after the virtio header) is copied out (copy_below).
    bool copies(std::size_t bytes) const noexcept {
        return copy_pool_ != nullptr && bytes <= copy_below_;
    }
    // A small frame's bytes in a buffer of copy_pool_; nullopt when that pool has none.
    std::optional<packet> copy_small(std::span<const std::byte> frame);

    uring::uring_reactor& reactor_;
    buffer_pool& pool_;
    buffer_pool* copy_pool_;
    std::uint32_t copy_below_;
    tap_device device_; // first in, last out: the descriptor closes after the rings are done
    tap_counters tap_stats_;
    tap_rx_ring rx_;
    tap_tx_ring tx_;
    bool down_ = false;
};

} // namespace coronet
