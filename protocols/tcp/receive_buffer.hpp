#pragma once
// receive_buffer: a socket's in-order received bytes, waiting for the application.
//
// TCP input appends the payload packets it accepted in order (no copy: the packet chain just
// grows by the received slices). read() copies into the caller's span (the POSIX contract,
// counted) and frees what it consumed; read_zc() lends the packets themselves, which free
// their buffers when the caller drops them. The window to advertise is what is left of the
// capacity (RFC 9293 §3.8.6: RCV.WND); set_capacity() is the auto-tuning hook. Shrinking the
// capacity below what is buffered drops nothing: the window is 0 until the reader catches up
// (not shrinking the advertised right edge, RFC 9293 §3.8.6.2.2, is the engine's job).
#include <cstddef>
#include <limits>
#include <span>

#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"
#include "framework/result.hpp"

namespace coronet::tcp {

class receive_buffer {
public:
    explicit receive_buffer(std::size_t capacity) noexcept : capacity_(capacity) {}

    // Payloads up to this size are copied into the room after the buffered data instead of
    // being linked (Linux coalesces small segments too): linked, each would hold a whole
    // pool buffer, and a peer sending 1-byte segments could drain the pool.
    static constexpr std::size_t coalesce_below = 256;

    // In-order payload from TCP input; the engine accepts no more than window() bytes.
    void append(packet data) noexcept;
    // Copies up to out.size() bytes out and frees them; adds them to `copied`. 0 when empty.
    std::size_t read(std::span<std::byte> out, counter& copied) noexcept;
    // Lends up to `max` bytes as a packet, without copying; ENOBUFS when cutting a slice in
    // two needs a descriptor there is none of. An empty packet when nothing is buffered.
    result<packet> read_zc(std::size_t max = std::numeric_limits<std::size_t>::max());

    std::size_t size() const noexcept { return data_.length(); }
    bool empty() const noexcept { return data_.empty(); }
    std::size_t capacity() const noexcept { return capacity_; }
    // The receive window: the room left.
    std::size_t window() const noexcept { return capacity_ > size() ? capacity_ - size() : 0; }
    void set_capacity(std::size_t c) noexcept { capacity_ = c; }

private:
    std::size_t capacity_;
    packet data_;
};

} // namespace coronet::tcp
