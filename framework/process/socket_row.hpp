#pragma once
// socket_row: one line of a stack's socket table, what `ss -tuanpio` shows of one socket on
// Linux: protocol, state, queues, the two endpoints, the pending timer, TCP_INFO, and the
// processes holding a handle on it. A stack lists its sockets as rows
// (network_stack::socket_rows); socket_table.hpp adds the owners and prints them.
//
// Queues as ss reads them: for a TCP connection Recv-Q is the bytes received and not yet
// read, Send-Q the bytes written and not yet acknowledged; for a listener Recv-Q is the
// connections waiting to be accepted and Send-Q its backlog; for UDP Recv-Q is the payload
// bytes queued (`datagrams` says how many datagrams) and Send-Q 0 (a datagram leaves, or is
// refused, within its call).
#include "framework/clock.hpp"
#include "framework/net/address.hpp"
#include "framework/object/handle.hpp"
#include "framework/process/tcp_info.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace coronet {

class kernel_object;

enum class socket_protocol : std::uint8_t { tcp, udp };

// The timer ss -o shows (Linux's /proc/net/tcp "tr" field): the retransmission timer (also
// the loss probe's), the zero-window probe, keepalive, or TIME-WAIT (and an orphaned
// FIN-WAIT-2's limit), in that order of precedence; off when none runs (a delayed ACK is not
// shown, as Linux does not).
enum class timer_kind : std::uint8_t { off, on, keepalive, timewait, persist };

struct socket_timer {
    timer_kind kind = timer_kind::off;
    duration left{0};     // until it fires (0 when off)
    unsigned retries = 0; // RTO backoffs, unanswered window or keepalive probes
    friend bool operator==(const socket_timer&, const socket_timer&) = default;
};

// A process holding a handle on the socket, as ss -p's users:(("name",pid=..,fd=..)).
struct socket_owner {
    std::string process;
    std::uint64_t pid = 0; // process::id()
    handle id;
};

struct socket_row {
    socket_protocol protocol = socket_protocol::tcp;
    // UDP: established when connected, closed (ss's UNCONN) otherwise.
    tcp_state state = tcp_state::closed;
    endpoint local;
    endpoint remote; // the unspecified endpoint for a listener or an unconnected UDP socket
    std::size_t recv_q = 0;
    std::size_t send_q = 0;
    std::size_t datagrams = 0; // UDP: datagrams queued
    std::uint64_t drops = 0;   // UDP: datagrams dropped at this socket (its queue was full)
    socket_timer timer;
    tcp_info info; // TCP only; a listener's holds its state and little else
    // None for a connection in an accept queue or in TIME-WAIT: no handle names it.
    std::vector<socket_owner> owners;
    // The socket itself, to find its owners while the table is built (never dereferenced
    // afterwards: the row outlives nothing it describes).
    const kernel_object* object = nullptr;
};

} // namespace coronet
