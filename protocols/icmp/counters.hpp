#pragma once
// ICMP counters of one stack, named as in /proc/net/snmp's Icmp line, read as "icmp.<name>".
#include "framework/counters.hpp"

namespace coronet::icmp {

struct counters {
    explicit counters(counter_registry& r) : group(r, "icmp") {}
    counter_group group;
    counter& in_msgs = group.declare("in_msgs");
    counter& in_errors = group.declare("in_errors"); // truncated, malformed quote
    counter& in_csum_errors = group.declare("in_csum_errors");
    counter& in_unknown_types = group.declare("in_unknown_types");
    counter& in_echos = group.declare("in_echos");
    counter& in_echo_reps = group.declare("in_echo_reps");
    counter& in_dest_unreachs = group.declare("in_dest_unreachs");
    counter& in_time_excds = group.declare("in_time_excds");
    counter& in_echos_ignored = group.declare("in_echos_ignored"); // to a broadcast address
    counter& out_msgs = group.declare("out_msgs");
    counter& out_errors = group.declare("out_errors"); // could not be sent
    counter& out_echos = group.declare("out_echos");
    counter& out_echo_reps = group.declare("out_echo_reps");
    counter& out_dest_unreachs = group.declare("out_dest_unreachs");
    counter& out_time_excds = group.declare("out_time_excds");
    counter& out_rate_limited = group.declare("out_rate_limited");
};

} // namespace coronet::icmp
