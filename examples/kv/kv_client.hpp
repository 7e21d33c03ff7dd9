#pragma once
// A coronet-kv client: one connection, one request at a time, each bounded by a timeout.
//
//   auto c = co_await kv::client::connect(p, {server_address, port{7070}});
//   if (!c) ...;                                   // connect's error, or ETIMEDOUT
//   auto s = co_await c->set("name", "value");     // result<>
//   auto v = co_await c->get("name");              // result<optional<string>>: nullopt if absent
//
// Errors, as values: EINVAL for a key the protocol refuses and EMSGSIZE for a value above
// max_value (neither sent); the server's replies "store full" ENOSPC, "value too large"
// EMSGSIZE, another ERROR EPROTO; a reply that is not of the protocol EBADMSG; no reply
// within the timeout ETIMEDOUT; the connection ending first ECONNRESET (or read's error).
//
// After any error but EINVAL, ENOSPC and EPROTO the connection is closed and later calls give
// ENOTCONN: a request that timed out may still be answered, and a reply read after it would
// be taken for the next one's. Connect again to go on. A SET or DEL that failed so may have
// been applied; both are idempotent, so sending it again is safe.
#include "examples/kv/kv_protocol.hpp"
#include "framework/clock.hpp"
#include "framework/process/process.hpp"
#include "framework/process/stream_reader.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace coronet::kv {

class client {
public:
    static constexpr duration default_timeout = std::chrono::seconds(5);

    client() = default; // not connected
    // Connects within `timeout`; that timeout then bounds each request (its send and reply).
    static task<result<client>> connect(process& p, endpoint server,
                                        duration timeout = default_timeout);

    task<result<std::optional<std::string>>> get(std::string_view key);
    task<result<>> set(std::string_view key, std::string_view value);
    // True when the key was there.
    task<result<bool>> del(std::string_view key);

    bool connected() const noexcept { return static_cast<bool>(conn_); }
    void close() { conn_ = {}; }

private:
    client(process& p, unique_handle conn, duration timeout);
    // Sends `request` and reads its reply (a VALUE's data into value_); closes on error.
    task<result<reply>> exchange(std::string request);
    task<result<reply>> exchange_once(const std::string& request);

    process* proc_ = nullptr;
    unique_handle conn_;
    std::optional<stream_reader> in_;
    duration timeout_ = default_timeout;
    std::string value_;
};

} // namespace coronet::kv
