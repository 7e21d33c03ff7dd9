#pragma once
// Per-socket receive and send timeouts (socket_option::receive_timeout, send_timeout), as
// Linux's SO_RCVTIMEO and SO_SNDTIMEO: served by the process layer around the stack's calls,
// so both stacks behave alike and no stack keeps a timer for them.
//
// A call that waits longer than its socket's timeout fails with EAGAIN, as Linux's does
// (sock_rcvtimeo, sk_stream_wait_memory: "EAGAIN or EWOULDBLOCK", not ETIMEDOUT, which a
// stream call keeps for a connection that timed out). The deadline stops the stack's wait
// the way a cancel does, so nothing is lost: a read cut short took no bytes, they stay
// readable; a write or send_zc cut short returns the count it had taken (EAGAIN only if
// none). Bounded: read, recv_zc, recv_from and accept by the receive timeout; write,
// send_zc and send_to by the send timeout; each call on its own (read_exactly and write_all
// give each of their calls the whole timeout). connect is not bounded (Linux's gives
// EINPROGRESS there): give it to with_timeout instead. A stack may serve them itself
// (socket_object::serves_timeouts: the host stack's operations carry the kernel's linked
// timeouts), with these outcomes.
#include "framework/process/socket.hpp"
#include "framework/timeout.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace coronet::socket_timeouts {

inline bool is_timeout(socket_option opt) noexcept {
    return opt == socket_option::receive_timeout || opt == socket_option::send_timeout;
}

inline duration& slot(socket_object& s, socket_option opt) noexcept {
    return opt == socket_option::receive_timeout ? s.timeouts.receive : s.timeouts.send;
}

// Milliseconds, 0 for none; EINVAL below 0 or beyond INT32_MAX (about 24 days), where Linux
// would take a negative value as none.
inline result<> set(socket_object& s, socket_option opt, std::int64_t ms) noexcept {
    if (ms < 0 || ms > INT32_MAX) return error{EINVAL};
    slot(s, opt) = std::chrono::milliseconds(ms);
    return {};
}

inline std::int64_t get(socket_object& s, socket_option opt) noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(slot(s, opt)).count();
}

// `call` bounded by `limit` (zero: not bounded).
template <class T>
task<T> within(duration limit, task<T> call) {
    if (limit == duration::zero()) co_return co_await std::move(call);
    co_return co_await with_timeout(limit, std::move(call), EAGAIN);
}

// A call of `s`, bounded by `limit` here unless the socket serves its timeouts itself.
template <class T>
task<T> within(const socket_object& s, duration limit, task<T> call) {
    return within(s.serves_timeouts() ? duration::zero() : limit, std::move(call));
}

} // namespace coronet::socket_timeouts
