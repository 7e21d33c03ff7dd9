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
//
// Files never block the loop: they are read through fs:: (io_uring on either stack) in
// chunks of file_chunk bytes, one buffer of the server's file pool each, and handed to the
// socket with send_zc, so on the native stack TCP sends the very buffers the file was read
// into (the host stack's kernel copies them, as a write would). Files up to
// cache_entry_bytes stay in those buffers in a file_cache (at most cache_bytes, checked
// against the disk every cache_revalidate) and go out again without being read. A request
// that finds the pool empty (every buffer cached or not yet acknowledged by its receiver)
// waits for one at most buffer_wait, then gets 503.
//
// An admin port (admin_port, off by default) serves operators on a listener of its own,
// outside max_connections: GET /metrics, every counter of the stack and the server's own in
// the Prometheus text format, GET /counters, the stack's counters as "group: name value"
// lines, and GET /connections (/connections.json), the socket table of the stack it runs on
// (either one) as ss -tuanpio shows Linux's. It listens on every address of the host: give it a port that only operators reach.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/clock.hpp"
#include "framework/counters.hpp"
#include "framework/file/file_cache.hpp"
#include "framework/process/process.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace coronet::examples {

inline constexpr std::string_view hello_body = "Hello from coronet!\n";

struct httpd_config {
    std::uint16_t port = 8080;
    std::string root; // empty: only /hello
    std::size_t max_connections = 10000;
    bool log = false;                                   // one line per request on stdout
    duration idle_timeout = std::chrono::seconds(75);   // nginx's keepalive_timeout
    duration header_timeout = std::chrono::seconds(60); // nginx's client_header_timeout
    std::uint32_t file_buffers = 1024;               // of file_chunk bytes: 64 MiB, mapped lazily
    std::size_t cache_bytes = std::size_t{16} << 20; // 0: nothing cached; at most half the pool
    std::size_t cache_entry_bytes = std::size_t{256} << 10;
    duration cache_revalidate = std::chrono::seconds(1); // nginx's open_file_cache_valid
    duration buffer_wait = std::chrono::seconds(5);
    std::uint16_t admin_port = 0; // 0: none
};

inline constexpr std::uint32_t file_chunk = 64 * 1024;
inline constexpr std::uint32_t head_buffer = 512; // a response head, copied in front of the body

// The directory files are served from (an O_PATH descriptor), or none for an empty path.
fs::file open_root(const std::string& root);

struct server_state {
    const httpd_config& cfg;
    std::size_t connections = 0;
    std::uint64_t accepted = 0; // connections the listener accepted, 503s included
    std::uint64_t requests = 0;
    std::uint64_t idle_timeouts = 0;   // connections closed for idling between requests
    std::uint64_t header_timeouts = 0; // requests answered 408 for a head too slow to arrive
    std::uint64_t files_sent = 0;      // 200 responses with a file's bytes (GET)
    std::uint64_t file_bytes_sent = 0;
    std::uint64_t buffer_waits = 0; // waits for a free file buffer
    counter head_bytes_copied{};    // response heads copied into head buffers
    const counter_registry* stack_counters = nullptr; // what the admin port shows; null: none
    bool admin = true; // listen on cfg.admin_port (one shard of several does)
    // Declared after cfg, which sizes them. They must outlive the stack the server runs on:
    // its sockets hold these buffers until the receiver acknowledges the bytes.
    buffer_pool files{{.buffer_size = file_chunk, .buffer_count = cfg.file_buffers}};
    buffer_pool heads{{.buffer_size = head_buffer, .buffer_count = 4096}};
    // cfg.root, held open: every file is opened beneath it (fs::open_beneath), so neither a
    // target nor a symbolic link in the tree reaches a file outside (403). Not open without
    // a root; std::runtime_error if the root cannot be opened.
    fs::file root_dir = open_root(cfg.root);
    fs::file_cache cache{
        files,
        {.max_bytes = std::min(cfg.cache_bytes, std::size_t{file_chunk} * cfg.file_buffers / 2),
         .max_entry_bytes = cfg.cache_entry_bytes,
         .revalidate_after = cfg.cache_revalidate,
         .root = &root_dir}};
};

// The figures of several servers (one per shard) added up, for the summary at exit.
struct server_totals {
    std::uint64_t requests = 0, files_sent = 0, file_bytes_sent = 0, buffer_waits = 0;
    fs::file_cache_stats cache{};
    void add(const server_state& st) {
        requests += st.requests;
        files_sent += st.files_sent;
        file_bytes_sent += st.file_bytes_sent;
        buffer_waits += st.buffer_waits;
        const auto& c = st.cache.stats();
        cache.hits += c.hits;
        cache.misses += c.misses;
        cache.invalidations += c.invalidations;
        cache.evictions += c.evictions;
        cache.too_large += c.too_large;
        cache.bytes_hit += c.bytes_hit;
        cache.bytes_read += c.bytes_read;
        cache.entries += c.entries;
        cache.bytes += c.bytes;
    }
};

// Serves one accepted connection until it closes; closes it. An admin session answers the
// admin paths instead of /hello and files.
task<void> http_session(process& p, handle conn, server_state& st, bool admin = false);
// Listens on cfg.port (and cfg.admin_port when set) and serves each connection in its own
// coroutine, until the process ends.
task<void> http_serve(process& p, server_state& st);
// The server's own figures in the Prometheus text format (coronet_httpd_*).
std::string httpd_metrics(const server_state& st);

} // namespace coronet::examples
