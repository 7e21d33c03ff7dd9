#pragma once
// What a tap_nic is asked to be. Defaults: a new device named by the kernel ("tap%d"), the
// link brought up, checksum offload and TSO on, half the pool posted for receive.
#include "framework/net/address.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace coronet {

class buffer_pool;

enum class tap_open_mode : std::uint8_t {
    create, // a new device; EBUSY if one of that name exists (IFF_TUN_EXCL)
    attach, // an existing (persistent) TAP device; ENODEV if there is none
    // One more queue of a live multi-queue device (one whose first queue was opened with
    // multi_queue, by this process or another): `name` is that device's full name (no "%d").
    // The device, its MAC, MTU, link state and offloads stay as the first queue set them;
    // this queue only checks that they are what its own options ask (EINVAL if not), and
    // ENODEV if there is no such device.
    attach_queue,
};

// The largest tap_options::kernel_queue accepted.
inline constexpr std::uint32_t max_kernel_queue = 65536;

struct tap_options {
    // The interface name; a "%d" in it is filled in by the kernel.
    std::string name = "tap%d";
    tap_open_mode mode = tap_open_mode::create;
    // IFF_MULTI_QUEUE: the device takes more queues (attach_queue), up to 256, each its own
    // descriptor read and written by its own tap_nic. The kernel hands each queue the flows
    // that queue last transmitted, and spreads the others by flow hash (drivers/tap/README.md).
    // attach_queue implies it.
    bool multi_queue = false;
    // The NIC's name (its counter group and interrupt line); empty: the device's. Queues of
    // one device that share a counter registry need one each (e.g. "tap0_q1"; no dots).
    std::string nic_name;
    // coronet's own address, the source of the frames it sends.
    mac_address mac{0x02, 0, 0, 0, 0, 1};
    // The address of the kernel's end (the TAP interface); by default the kernel's random one.
    std::optional<mac_address> kernel_mac;
    // IP bytes per frame, set on the interface as well.
    std::uint32_t mtu = 1500;
    // IFF_UP on the interface once it is configured.
    bool link_up = true;
    // Frames the kernel may hold for coronet to read (the interface's txqueuelen: tun's
    // queue of sent frames); 0 leaves the kernel's 1,000. A frame sent to a full queue is
    // dropped in the kernel (the interface's TX dropped) and its TCP sender waits for an RTO:
    // 1,024 connections answering at once are a burst of 1,024 frames, and with 1,000 the
    // kernel dropped 28 % of them (16 KiB echo, drivers/tap/README.md). Queued frames are the
    // kernel's memory, charged to their sockets, not coronet's buffers.
    // At most max_kernel_queue: the kernel allocates the queue's ring at once.
    std::uint32_t kernel_queue = 4096;
    // Checksums left to the other side (TUN_F_CSUM): frames either way may carry a partial
    // checksum (needs_csum), and frames from the kernel may say theirs is valid (data_valid).
    bool checksum_offload = true;
    // TCP segmentation: coronet may send TCP frames up to 64 KiB that the kernel splits
    // (gso_tcpv4). The kernel hands coronet such frames (TUN_F_TSO4) only when the pool's
    // buffers can hold one (see tap_nic). Needs checksum_offload.
    bool tso = true;
    // Receive buffers lent from the pool to the provided-buffer ring; 0 means half the pool
    // (at most 32768). They are the pool's first buffers: give the NIC a fresh pool.
    std::uint32_t rx_buffers = 0;
    // Copy-break (Linux drivers' rx_copybreak): a frame of at most `copy_below` bytes (after
    // the virtio header) is copied into a buffer of `copy_pool`, and its receive buffer goes
    // back to the ring at once. With buffers big enough for the kernel's 64 KiB segments, a
    // small frame (an ACK, a request, any MTU-sized frame) would otherwise pin a whole one
    // until the application reads it, and a few thousand of them would run the ring dry. A
    // copy costs one memcpy of at most a frame; when the copy pool is empty the frame stays
    // in its own buffer (no loss). 0 or no pool: every frame is zero-copy. `copy_below` must
    // fit a copy pool buffer after packet::default_headroom; the pool must outlive the NIC.
    std::uint32_t copy_below = 0;
    buffer_pool* copy_pool = nullptr;
    // The io_uring buffer group of the receive ring; by default the first free one from 0x100.
    std::optional<std::uint16_t> buffer_group;
    // Frame writes in flight at most; transmit refuses with ENOBUFS beyond (the frame is
    // dropped and counted: TCP sees a loss). 64 dropped frames of a 64 KiB write burst with
    // offloads off (45 frames of 1,500 bytes each, while earlier ones were still in flight).
    std::uint32_t tx_slots = 256;
    // Slices of one frame at most (each is an iovec; the virtio header takes one more). A
    // TSO segment of 64 KiB spans 33 or 34 of the pool's 2 KiB buffers plus its headers: 32
    // refused the largest ones, and TCP resent them forever.
    std::uint32_t tx_max_slices = 64;
    // Multishot read where the kernel has it (6.7); false forces single reads with buffer
    // selection, as an older kernel would.
    bool multishot = true;
    // Where the tun/tap control device lives (a test points it elsewhere).
    std::string tun_path = "/dev/net/tun";
};

} // namespace coronet
