#pragma once
// tap_device: the descriptor of a Linux TAP interface opened for coronet, configured the
// way tap_nic reads and writes it (Documentation/networking/tuntap.rst):
//   IFF_TAP | IFF_NO_PI: whole Ethernet frames, no packet-information prefix;
//   IFF_VNET_HDR with TUNSETVNETHDRSZ = 10: every frame, both ways, starts with a struct
//     virtio_net_hdr (virtio 1.1 §5.1.6), in the byte order of the host (tun's legacy
//     virtio mode). 10 and not 12: num_buffers means nothing to a read from a TAP device,
//     which always fills one buffer per frame, and 10 + 14 puts the IP header on an
//     8-byte boundary of a cache-line-aligned buffer;
//   TUNSETOFFLOAD: what the kernel may hand us (partial checksums, large TCP segments).
// The interface itself (MAC, MTU, IFF_UP) is set with ioctls on an AF_INET socket of the
// current network namespace: no netlink, no shelling out.
//
// Multi-queue (IFF_MULTI_QUEUE, tuntap.rst §3.3): every open of the device is one queue, a
// descriptor of its own. Framing (IFF_NO_PI, IFF_VNET_HDR), the virtio header size and the
// offloads belong to the device, not the queue: the first queue sets them with the interface,
// and a later one (tap_open_mode::attach_queue) only checks them (SIOCETHTOOL reads the
// offloads back) and fails with EINVAL on a mismatch.
//
// Opening is start-up: failures throw std::system_error whose code is the errno and whose
// text says what to do (ENOENT: no tun device node; EPERM: CAP_NET_ADMIN is missing).
#include "drivers/tap/tap_options.hpp"
#include "drivers/tap/vnet_header.hpp"

#include <cstddef>
#include <string>

namespace coronet {

class tap_device {
public:
    // Opens and configures the device; `rx_frame_bytes` is the largest frame (virtio header
    // included) that a receive buffer can hold, which decides whether TUN_F_TSO4 is asked.
    static tap_device open(const tap_options& options, std::size_t rx_frame_bytes);

    tap_device(tap_device&& other) noexcept;
    tap_device& operator=(tap_device&&) = delete;
    tap_device(const tap_device&) = delete;
    ~tap_device();

    int fd() const noexcept { return fd_; }
    // The name the kernel gave (a "%d" filled in).
    const std::string& name() const noexcept { return name_; }
    int ifindex() const noexcept { return ifindex_; }
    // The TUN_F_* flags TUNSETOFFLOAD accepted.
    unsigned offloads() const noexcept { return offloads_; }

private:
    tap_device() = default;
    int fd_ = -1;
    int ifindex_ = 0;
    unsigned offloads_ = 0;
    std::string name_;
};

} // namespace coronet
