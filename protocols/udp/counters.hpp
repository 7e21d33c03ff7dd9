#pragma once
// UDP counters of one stack, named as in /proc/net/snmp's Udp line, read as "udp.<name>",
// plus the payload bytes the socket calls copy (the POSIX copy, counted where it happens).
#include "framework/counters.hpp"

namespace coronet::udp {

struct counters {
    explicit counters(counter_registry& r) : group(r, "udp") {}
    counter_group group;
    counter& in_datagrams = group.declare("in_datagrams");
    counter& no_ports = group.declare("no_ports");
    counter& in_errors = group.declare("in_errors");
    counter& in_csum_errors = group.declare("in_csum_errors");
    counter& rcvbuf_errors = group.declare("rcvbuf_errors");
    counter& out_datagrams = group.declare("out_datagrams");
    counter& send_errors = group.declare("send_errors");
    counter& bytes_copied_in = group.declare("bytes_copied_in");   // send_to/write
    counter& bytes_copied_out = group.declare("bytes_copied_out"); // recv_from/read
};

} // namespace coronet::udp
