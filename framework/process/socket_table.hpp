#pragma once
// The socket table of a stack, as `ss -tuanpio` prints Linux's: every TCP listener and
// connection and every bound UDP socket, with its state, queues, pending timer, TCP_INFO and
// the processes holding a handle on it; as rows for code, and as text or JSON for people and
// scrapers (coronet-httpd's admin port serves both, the examples print the text on SIGUSR1).
//
//   auto rows = socket_table(*p.stack());   // either stack: native or host
//   if (rows) std::fputs(socket_table_text(*rows).c_str(), stdout);
//
// Owners are found by walking the handle tables of the processes alive on the calling
// thread (process::on_this_thread), which is where a shard's stack and processes live: the
// cost is paid by whoever asks for the table, not by every socket call. Build and use the
// table on the stack's own thread.
#include "framework/process/socket.hpp"
#include "framework/process/socket_row.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace coronet {

// The stack's rows with their owners; the stack's error (EOPNOTSUPP) if it cannot list them.
result<std::vector<socket_row>> socket_table(const network_stack& stack);
// Fills each row's owners from the handle tables of this thread's processes.
void add_owners(std::vector<socket_row>& rows);

// One line per socket under a header, as ss prints them, and for TCP connections a second,
// indented line of TCP_INFO (ss -i), for UDP one of datagrams queued and dropped:
//   Netid State      Recv-Q Send-Q Local Address:Port     Peer Address:Port      Process
//   tcp   ESTAB      0      0      10.0.0.2:8080          10.0.0.1:49152         users:(...
//   <tab> sack ts wscale:10,5 rto:200ms rtt:0.1/0.05ms mss:1448 ...
// Process holds users:(("httpd",pid=1,handle=0x10000004)) and then timer:(keepalive,2min,0).
std::string socket_table_text(const std::vector<socket_row>& rows);
// {"sockets":[{"netid":"tcp","state":"LISTEN","local":"0.0.0.0:80","peer":"0.0.0.0:*",...},...]}
std::string socket_table_json(const std::vector<socket_row>& rows);

// ss's name of a state: "ESTAB", "SYN-SENT", "TIME-WAIT", "LISTEN", "UNCONN" (closed)...
std::string_view state_name(tcp_state s) noexcept;
// ss's names of the timers: "off", "on", "keepalive", "timewait", "persist".
std::string_view timer_name(timer_kind k) noexcept;
// A time left as ss -o prints it (its print_ms_timer): "200ms", "1.500ms" (1.5 s), "12sec",
// "2min30sec", "15min"; "0ms" for none left (where ss prints nothing).
std::string timer_text(duration left);

} // namespace coronet
