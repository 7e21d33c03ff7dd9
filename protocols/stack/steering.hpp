#pragma once
// Steering: one host's native stack split over N shards (issue 13). Every shard runs a whole
// stack with the same address and MAC on its own NIC queue (a multi-queue TAP device). The NIC
// chooses the queue of a received frame (tun: the queue that last sent on the flow, else a
// hash of the flow); the stack then decides who handles it:
//  - TCP: the shard that owns the connection (tcp::flow_owner, a keyed hash of the 4-tuple).
//    A segment for another shard is forwarded, its frame's bytes copied into a message, and
//    the owner injects them as if its own queue had received them. That is what happens to a
//    passive open's first SYN (the NIC has not seen the flow yet) and to a segment arriving
//    after the NIC changed its mind. A segment for a connection that exists on this shard is
//    handled here whatever the hash says (a socket bound to a port before connect() could not
//    pick one this shard owns), and so is traffic to ourselves (the loopback never leaves the
//    shard), and a segment injected by another shard (never forwarded twice).
//  - ARP: handled here and forwarded to every other shard, so every cache learns; only the
//    shard that received a request answers it.
//  - ICMP, UDP and IPv4 fragments stay on the shard that received them: the NIC's flow hash
//    keeps a UDP flow, and the fragments of one datagram, on one queue. A TCP segment that
//    came in fragments is reassembled here, then forwarded whole if another shard owns it.
//    An echo reply to this shard's ping lands on the queue that sent the request only while
//    no other shard sends to that peer: the NIC's hash has no ICMP identifier in it.
// Forwarding never blocks: a forwarder that refuses (its queue is full) drops the frame,
// counted in shard.forward_dropped, and TCP's retransmission tries again.
// With one shard (the default) none of this runs: one comparison on the receive path.
#include "framework/buffer/packet_metadata.hpp"
#include "framework/counters.hpp"
#include "protocols/tcp/flow_owner.hpp"

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace coronet::native {

// Hands a frame to shard `to_shard` (a copy of `frame` travels in the message; the span is not
// kept). `offload`: the frame's checksum and segmentation metadata, which the owner needs to
// read it as the NIC delivered it (a partial checksum, a GSO frame). False when refused.
using forwarder = std::function<bool(unsigned to_shard, std::span<const std::byte> frame,
                                     const packet_offload& offload)>;

struct steering_counters {
    explicit steering_counters(counter_registry& r) : group(r, "shard") {}
    counter_group group;
    counter& tcp_forwarded_out = group.declare("tcp_forwarded_out"); // segments sent to their owner
    counter& arp_forwarded_out = group.declare("arp_forwarded_out"); // copies, one per other shard
    counter& forward_dropped = group.declare("forward_dropped");     // refused by the forwarder
    counter& injected = group.declare("injected");                   // frames from other shards
    counter& inject_dropped_no_buffer = group.declare("inject_dropped_no_buffer");
    counter& inject_dropped_too_big = group.declare("inject_dropped_too_big");
    counter& bytes_copied = group.declare("bytes_copied"); // into injected frames' buffers
};

struct steering {
    tcp::flow_owner owner;
    forwarder forward;
    std::vector<std::byte> scratch; // the frame being forwarded, reused
    steering_counters* stats = nullptr;
    bool on() const noexcept { return owner.count > 1; }
};

} // namespace coronet::native
