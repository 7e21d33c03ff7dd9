#pragma once
// Ethernet counters of one stack (all its interfaces), read as "ethernet.<name>".
#include "framework/counters.hpp"

namespace coronet::ethernet {

struct counters {
    explicit counters(counter_registry& r) : group(r, "ethernet") {}
    counter_group group;
    counter& in_frames = group.declare("in_frames");
    counter& in_truncated = group.declare("in_truncated");       // shorter than 14 bytes
    counter& in_not_for_us = group.declare("in_not_for_us");     // another unicast or unjoined group
    counter& in_unknown_type = group.declare("in_unknown_type"); // neither ARP nor IPv4
    counter& out_frames = group.declare("out_frames");
    counter& out_errors = group.declare("out_errors"); // no header room, or the NIC refused
};

} // namespace coronet::ethernet
