#pragma once
// IPv4 counters of one stack, named as in /proc/net/snmp (RFC 4293's ipSystemStats), read as
// "ipv4.<name>".
#include "framework/counters.hpp"

namespace coronet::ipv4 {

struct counters {
    explicit counters(counter_registry& r) : group(r, "ipv4") {}
    counter_group group;
    counter& in_receives = group.declare("in_receives");
    counter& in_hdr_errors = group.declare("in_hdr_errors"); // version, IHL, length, checksum, TTL
    counter& in_csum_errors = group.declare("in_csum_errors");
    counter& in_truncated_pkts = group.declare("in_truncated_pkts");
    counter& in_addr_errors = group.declare("in_addr_errors"); // not ours, forwarding off; bad source
    counter& forw_datagrams = group.declare("forw_datagrams");
    counter& in_unknown_protos = group.declare("in_unknown_protos");
    counter& in_discards = group.declare("in_discards");
    counter& in_delivers = group.declare("in_delivers");
    counter& out_requests = group.declare("out_requests");
    counter& out_discards = group.declare("out_discards");
    counter& out_no_routes = group.declare("out_no_routes");
    counter& reasm_timeout = group.declare("reasm_timeout");
    counter& reasm_reqds = group.declare("reasm_reqds");
    counter& reasm_oks = group.declare("reasm_oks");
    counter& reasm_fails = group.declare("reasm_fails");
    counter& reasm_overlaps = group.declare("reasm_overlaps");
    counter& reasm_duplicates = group.declare("reasm_duplicates");
    counter& reasm_memory_evictions = group.declare("reasm_memory_evictions");
    counter& reasm_fragments_exceeded =
        group.declare("reasm_fragments_exceeded"); // > max_fragments
    // The host's memory budget refused (reassembly.hpp): a new datagram's fragment dropped,
    // an older datagram discarded to make room.
    counter& reasm_pressure_drops = group.declare("reasm_pressure_drops");
    counter& reasm_pressure_evictions = group.declare("reasm_pressure_evictions");
    counter& frag_oks = group.declare("frag_oks");
    counter& frag_fails = group.declare("frag_fails");
    counter& frag_creates = group.declare("frag_creates");
};

} // namespace coronet::ipv4
