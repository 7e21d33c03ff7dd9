#pragma once
// coronet-load's engine: many client connections against one server, as echo (RFC 862)
// or HTTP/1.1 GET, through a process's socket calls, so it runs on either stack (Linux
// sockets through io_uring, or coronet's own TCP/IP over TAP).
//
// Each connection keeps `pipeline` requests in flight: a writer coroutine sends a request
// whenever one is answered, and a reader takes the answers apart (so a large echo message
// can never deadlock the two directions against each other, as one coroutine writing
// while nobody reads would). A latency is from the moment a request is handed to the
// socket to the moment its whole response has arrived. In rate mode each connection does
// connect, one request, close, again and again, and a latency runs from the connect.
//
// Errors are events, counted by kind: a reset counts once however many requests it loses.
// After an error the connection is closed and opened again; a connection that cannot be
// opened (refused, unreachable) is not retried, except in rate mode, where every attempt
// is one request. With --requests every request attempted counts towards the total, so the
// run ends whatever the server does; a connection with requests outstanding and no byte
// for `timeout` is closed as a timeout.
//
// The bulk modes measure throughput, not requests: bulk_send has the server send (each
// connection reads and counts what comes, until the deadline), bulk_recv has it receive
// (each connection writes the same chunk again and again). They have no requests, latencies
// or responses: bytes_received or bytes_sent is the result. A server that closes during the
// run is an error (closed, or reset), and one that moves nothing for `timeout` a timeout.
#include "examples/load/histogram.hpp"
#include "framework/clock.hpp"
#include "framework/net/address.hpp"
#include "framework/task.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace coronet {
class process;
}

namespace coronet::load {

enum class load_mode : std::uint8_t { echo, http, bulk_send, bulk_recv };
// "echo", "http", "bulk-send", "bulk-recv": the --mode and the JSON report's name.
std::string_view name_of(load_mode m) noexcept;
inline bool is_bulk(load_mode m) noexcept {
    return m == load_mode::bulk_send || m == load_mode::bulk_recv;
}

struct load_config {
    load_mode mode = load_mode::http;
    endpoint target;
    std::size_t connections = 64;
    std::uint64_t requests = 0; // in all; 0: run for run_for instead (bulk: always 0)
    duration run_for = std::chrono::seconds(10);
    std::size_t pipeline = 1; // requests in flight per connection
    std::size_t size = 64;    // echo: bytes per message
    std::string path = "/";   // http: the request target
    bool rate_mode = false;   // connect, one request, close
    duration timeout = std::chrono::seconds(10);
    duration progress_every = std::chrono::seconds(1); // 0: no progress reports
};

enum class error_kind : std::uint8_t {
    connect_refused,  // ECONNREFUSED
    connect_failed,   // any other failed connect (ETIMEDOUT, EHOSTUNREACH, EMFILE...)
    reset,            // ECONNRESET, EPIPE while connected
    closed,           // the server closed with requests unanswered, between responses
    short_response,   // the server closed in the middle of a response
    invalid_response, // not HTTP/1.x as http_response.hpp takes it, or echoed bytes that differ
    http_status,      // a response whose status is 400 or above (counted as a response too)
    timeout,          // requests outstanding and nothing received for `timeout`
    other,            // any other error of a read or write
};
inline constexpr std::size_t error_kinds = 9;
std::string_view name_of(error_kind k) noexcept;

struct load_stats {
    duration elapsed{};
    std::uint64_t responses = 0; // complete responses (echoes), each with a latency
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t connects = 0; // connections established
    std::array<std::uint64_t, error_kinds> errors{};
    histogram latency; // nanoseconds
    bool bulk = false; // a bulk mode ran: bytes, not responses, are the result

    std::uint64_t& operator[](error_kind k) noexcept { return errors[static_cast<std::size_t>(k)]; }
    std::uint64_t operator[](error_kind k) const noexcept {
        return errors[static_cast<std::size_t>(k)];
    }
    std::uint64_t error_total() const noexcept;
};

struct progress {
    duration elapsed{};
    std::uint64_t responses = 0;
    std::uint64_t errors = 0;
    std::uint64_t bytes = 0; // sent and received
    std::size_t open = 0;    // connections open now
};

// Runs the load in `p` (which must not be used by anything else meanwhile) until the
// requests are done, or run_for has passed, or every connection has failed to connect.
// `on_progress` is called every progress_every.
task<load_stats> run_load(process& p, const load_config& cfg,
                          std::function<void(const progress&)> on_progress = {});

// The exit status a run earns: 0 with responses (bulk: bytes moved) and no error, else 1.
int exit_code(const load_stats& s) noexcept;

} // namespace coronet::load
