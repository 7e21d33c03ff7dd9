#pragma once
// The HTTP/1.1 server of coronet-httpd (and of the demo): keep-alive and pipelining, GET
// and HEAD of /hello (a fixed in-memory response) and of files under a root directory;
// 405 for other methods, 400 malformed, 404 missing, 431 oversized headers; beyond
// max_connections a new connection gets 503 and is closed.
//
// Timeouts, as nginx's keepalive_timeout and client_header_timeout: a connection that sends
// nothing for idle_timeout between requests is closed; a request whose head has not arrived
// whole header_timeout after its first byte gets 408 and the connection is closed. Without
// them a slowloris (one header byte now and then) holds a connection slot for ever, and
// max_connections of them lock everyone out.
#include "framework/clock.hpp"
#include "framework/process/process.hpp"

#include <chrono>

#include <cstdint>
#include <string>
#include <string_view>

namespace coronet::examples {

inline constexpr std::string_view hello_body = "Hello from coronet!\n";

struct httpd_config {
    std::uint16_t port = 8080;
    std::string root; // empty: only /hello
    std::size_t max_connections = 10000;
    bool log = false; // one line per request on stdout
    duration idle_timeout = std::chrono::seconds(75);   // nginx's keepalive_timeout
    duration header_timeout = std::chrono::seconds(60); // nginx's client_header_timeout
};

struct server_state {
    const httpd_config& cfg;
    std::size_t connections = 0;
    std::uint64_t requests = 0;
    std::uint64_t idle_timeouts = 0;   // connections closed for idling between requests
    std::uint64_t header_timeouts = 0; // requests answered 408 for a head too slow to arrive
};

// Serves one accepted connection until it closes; closes it.
task<void> http_session(process& p, handle conn, server_state& st);
// Listens on cfg.port and serves each connection in its own coroutine, until the process ends.
task<void> http_serve(process& p, server_state& st);

} // namespace coronet::examples
