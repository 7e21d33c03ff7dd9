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
    // The NIC's gather limit (protocols/stack/gather_limit.cpp): frames copied into fewer
    // buffers and the bytes copied, TSO frames cut in software first, frames that could not
    // be made to fit.
    counter& out_linearized = group.declare("out_linearized");
    counter& bytes_copied_linearized = group.declare("bytes_copied_linearized");
    counter& out_gso_segmented = group.declare("out_gso_segmented");
    counter& out_dropped_too_many_slices = group.declare("out_dropped_too_many_slices");
};

} // namespace coronet::ethernet
