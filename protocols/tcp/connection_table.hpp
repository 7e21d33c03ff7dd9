#pragma once
// The connection table of one stack's TCP, as `ss -tani` shows Linux's: every listener and
// connection with its state, queues and what TCP_INFO says of it, as rows for code and as
// text or JSON for people and scrapers (coronet-httpd's admin port serves both).
//
// Queues as ss reads them: for a connection Recv-Q is the bytes received and not yet read,
// Send-Q the bytes written and not yet acknowledged; for a listener Recv-Q is the
// connections waiting to be accepted and Send-Q its backlog.
#include "framework/net/address.hpp"
#include "framework/process/tcp_info.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace coronet::tcp {

class layer;

struct connection_row {
    tcp_state state = tcp_state::closed;
    endpoint local;
    endpoint remote; // the unspecified endpoint for a listener
    std::size_t recv_q = 0;
    std::size_t send_q = 0;
    tcp_info info; // zeros for a listener but state, queues and MSS
};

// Listeners first (by port), then connections in table order.
std::vector<connection_row> connection_rows(const layer& tcp);
// One line per row under a header line, like ss -tani:
//   State       Recv-Q Send-Q Local           Peer             rtt/rttvar ms cwnd retrans ...
std::string connection_text(const std::vector<connection_row>& rows);
// {"connections":[{"state":"ESTABLISHED","local":"10.0.0.2:80",...},...]}
std::string connection_json(const std::vector<connection_row>& rows);
// Linux's name of a state as ss prints it ("ESTABLISHED", "TIME-WAIT", "LISTEN"...).
std::string_view state_name(tcp_state s) noexcept;

} // namespace coronet::tcp
