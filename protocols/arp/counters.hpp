#pragma once
// ARP counters of one stack (all its interfaces), read as "arp.<name>".
#include "framework/counters.hpp"

namespace coronet::arp {

struct counters {
    explicit counters(counter_registry& r) : group(r, "arp") {}
    counter_group group;
    counter& in_requests = group.declare("in_requests");
    counter& in_replies = group.declare("in_replies");
    counter& in_errors = group.declare("in_errors");         // malformed (arp::parse_error)
    counter& in_bad_sender = group.declare("in_bad_sender"); // a multicast or zero sender
    counter& in_ignored = group.declare("in_ignored");       // neither for us nor in the cache
    counter& address_conflicts = group.declare("address_conflicts"); // someone else claims our address
    counter& out_requests = group.declare("out_requests");
    counter& out_replies = group.declare("out_replies");
    counter& entries_created = group.declare("entries_created");
    counter& entries_updated = group.declare("entries_updated");
    counter& entries_aged = group.declare("entries_aged");
    counter& entries_evicted = group.declare("entries_evicted");
    counter& resolution_failures = group.declare("resolution_failures");
    counter& unres_discards = group.declare("unres_discards"); // queued packets dropped
    // ... of which the host's memory budget refused (cache.hpp)
    counter& unres_pressure_discards = group.declare("unres_pressure_discards");
};

} // namespace coronet::arp
