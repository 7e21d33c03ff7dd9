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
//
// Memory. The queue is charged, in the host's memory_budget, for the pool buffers it pins
// (Linux's truesize): one per slice, set after every change so that it cannot drift (slices
// of one buffer count as two; in order they rarely share one). A segment of 300 bytes pins
// a 2 KiB buffer, so under pressure try_append() may refuse; collapse() then copies the bytes
// into as few full buffers as they need (Linux's tcp_collapse), which loses nothing and lowers
// the charge. An empty queue always takes a segment, so every connection makes progress.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"
#include "framework/result.hpp"

namespace coronet::tcp {

class receive_buffer {
public:
    // `budget`, when given, is charged for the buffers the queue pins.
    explicit receive_buffer(std::size_t capacity, memory_budget* budget = nullptr) noexcept
        : capacity_(capacity), charge_(budget, queue_kind::tcp_receive) {}

    // Payloads up to this size are copied into the room after the buffered data instead of
    // being linked (Linux coalesces small segments too): linked, each would hold a whole
    // pool buffer, and a peer sending 1-byte segments could drain the pool.
    static constexpr std::size_t coalesce_below = 256;

    // In-order payload from TCP input; the engine accepts no more than window() bytes.
    // append() always takes it (bytes already charged elsewhere, the out-of-order queue's);
    // try_append() takes it only when the budget lets the queue pin its buffers (or the queue
    // is empty, or the payload is copied into the room after the data), else leaves `data` as
    // it was and returns false.
    void append(packet data) noexcept;
    bool try_append(packet& data) noexcept;
    // Copies the bytes from the first slice less than half full on into as few buffers of
    // `pool` as they fill (never its reserve), when that pins fewer than now; adds the bytes
    // copied to `copied`. Returns the buffers freed: 0 when nothing is to gain or the pool has
    // no buffer to copy into (nothing changes).
    std::size_t collapse(buffer_pool& pool, counter& copied) noexcept;
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
    std::uint32_t buffers_charged() const noexcept { return charge_.held(); }
    // Buffers the budget lets the queue take now (memory_budget::no_limit when unlimited).
    std::uint32_t memory_room() const noexcept { return charge_.room(); }

private:
    void charge() noexcept { charge_.set(static_cast<std::uint32_t>(data_.slice_count())); }

    std::size_t capacity_;
    packet data_;
    memory_charge charge_;
};

} // namespace coronet::tcp
