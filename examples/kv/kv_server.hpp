#pragma once
// The coronet-kv server: an in-memory key-value store served over TCP (kv_protocol.hpp).
//
//   kv::server srv{{.port = 7070}};          // outlives the stack it serves on (see below)
//   co_await kv::serve(p, srv);              // in the server's process
//
// The store lives in the serving process, not in `server`: when the process ends (a crash,
// a restart of its host) the data goes with it, and the next serve() starts empty. That is
// the promise to clients: nothing is durable.
//
// Bounded everywhere: keys and values by the protocol (kv_protocol.hpp) and max_value, the
// store by max_bytes (keys and values summed; a SET beyond it is refused "store full"),
// connections by max_connections (one more is told "too many connections" and closed), a
// connection's read buffer by max_value + 1 bytes (at least max_line), and its time: one
// that sends nothing, or takes no reply, for idle_timeout (SO_RCVTIMEO, SO_SNDTIMEO) is
// closed. A client that sends requests without reading replies stops being read once TCP's
// send queue fills, and is closed idle_timeout later.
//
// Replies go out through a stream_writer: a VALUE's head, data and LF as one send, and the
// replies to pipelined requests gathered until the requests read so far are answered. Its
// buffers (`replies`) are shared with the sockets until the peer acknowledges them, hence
// the lifetime rule above.
//
// Closing after an error is a lingering close, as nginx's: the write side is shut, then up to
// linger_bytes are read and dropped for at most linger_timeout, so that the error reply is
// not lost to the reset a close with unread bytes would send.
#include "examples/kv/kv_protocol.hpp"
#include "framework/buffer/buffer_pool.hpp"
#include "framework/clock.hpp"
#include "framework/process/process.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace coronet::kv {

struct config {
    std::uint16_t port = 7070;
    std::size_t max_value = kv::max_value;         // at most the protocol's
    std::size_t max_bytes = std::size_t{64} << 20; // keys and values of the store, summed
    std::size_t max_connections = 1024;
    duration idle_timeout = std::chrono::seconds(300); // zero: none
    duration linger_timeout = std::chrono::seconds(1);
    std::size_t linger_bytes = 64 * 1024;
    std::uint32_t reply_buffers = 1024; // of 2 KiB: 2 MiB, mapped lazily
};

// The store: keys to values, bounded by the bytes they hold. A value is shared, so that a
// reply still being written keeps the one it read while a SET replaces it (immutable, as
// memcached's items are while a connection holds them).
class store {
public:
    explicit store(std::size_t max_bytes) : max_bytes_(max_bytes) {}
    std::shared_ptr<const std::string> find(const std::string& key) const; // null: absent
    // False (and nothing changed) when the store would pass max_bytes.
    bool set(const std::string& key, std::string value);
    bool erase(const std::string& key);
    std::size_t size() const noexcept { return map_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    std::unordered_map<std::string, std::shared_ptr<const std::string>> map_;
    std::size_t bytes_ = 0;
    std::size_t max_bytes_;
};

struct server {
    config cfg;
    // What the server did, over every serve() (a restarted process adds to them).
    std::size_t connections = 0; // open now
    std::uint64_t accepted = 0;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;      // ERROR replies
    std::uint64_t refused = 0;     // connections beyond max_connections
    std::uint64_t idle_closed = 0; // silent, or not reading, for idle_timeout
    buffer_pool replies{{.buffer_size = 2048, .buffer_count = cfg.reply_buffers}};
};

// Listens on srv.cfg.port and serves until the process ends. EINVAL when cfg.max_value
// exceeds the protocol's; listen's error (EADDRINUSE...) as it is.
task<result<>> serve(process& p, server& srv);

} // namespace coronet::kv
