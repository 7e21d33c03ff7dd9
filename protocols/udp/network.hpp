#pragma once
// What UDP needs from the layers below it. The native stack implements it; a test may too.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/net/address.hpp"
#include "framework/result.hpp"

namespace coronet::udp {

class network {
public:
    // The source address of datagrams to `destination`: the outgoing interface's address.
    // ENETUNREACH when there is no route.
    virtual result<ipv4_address> source_for(ipv4_address destination) = 0;
    // True if `a` is an address of this host (bind accepts it).
    virtual bool is_local(ipv4_address a) const noexcept = 0;
    // Sends `datagram` (UDP header and data) in IPv4 from `source` to `destination`,
    // fragmenting it when it exceeds the MTU. ENETUNREACH, EMSGSIZE, ENOBUFS.
    virtual result<> output(packet&& datagram, ipv4_address source, ipv4_address destination) = 0;
    // Where datagrams to send are built.
    virtual buffer_pool& pool() noexcept = 0;
    // The host's account of the buffers queues pin (memory_budget.hpp); nullptr: none.
    virtual memory_budget* memory() noexcept { return nullptr; }

protected:
    ~network() = default;
};

} // namespace coronet::udp
