#pragma once
// What TCP needs from the layers below it. The native stack implements it; a segment-level
// test implements it too, catching every segment TCP sends.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/net/address.hpp"
#include "framework/result.hpp"

#include <cstdint>

namespace coronet::tcp {

// The way to a destination: the source address to use and what its interface offers.
struct path {
    ipv4_address source;
    std::uint32_t mtu = 1500;       // IP bytes per frame
    bool checksum_offload = false;  // the NIC fills in the TCP checksum (needs_csum)
    bool segmentation_offload = false; // the NIC cuts gso_tcpv4 segments larger than the MSS
};

class network {
public:
    // ENETUNREACH when there is no route.
    virtual result<path> route(ipv4_address destination) = 0;
    // True if `a` is an address of this host (bind accepts it).
    virtual bool is_local(ipv4_address a) const noexcept = 0;
    // Sends `segment` (TCP header and data) in IPv4 from `source` to `destination`.
    // Two refusals are back-pressure, not loss; the segment was not sent and TCP sends it
    // again when told:
    //   ENOBUFS  a transmit queue on the way (the NIC's, the loopback's) is full: the
    //            network calls layer::transmit_room() once it has room again;
    //   ENOMEM   no packet buffer for a header on the way: pool().buffers_freed() wakes.
    virtual result<> send_segment(packet&& segment, ipv4_address source,
                                  ipv4_address destination) = 0;
    // Where segments without data (ACKs, SYNs, RSTs) and written bytes are built.
    virtual buffer_pool& pool() noexcept = 0;
    // The host's account of the buffers queues pin (memory_budget.hpp); nullptr: none.
    virtual memory_budget* memory() noexcept { return nullptr; }

protected:
    ~network() = default;
};

} // namespace coronet::tcp
