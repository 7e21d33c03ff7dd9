#pragma once
// send_buffer: a socket's send queue, indexed by sequence number from snd.una on: the bytes
// sent but not yet acknowledged, then the bytes not yet sent.
//
// How it holds bytes. A deque of chunks, each a packet with its first sequence number.
// write() copies (the POSIX contract, counted) into the last chunk's buffer while that buffer
// has room and is ours alone, else into a new one-buffer chunk; send_zc() appends the caller's
// packet without copying, one chunk per slice. segment() shares the chunks it spans
// (share, pull_header, trim: reference counts, no copy), so a segment in flight and its
// retransmissions point at the very bytes the application wrote; acknowledge() drops whole
// chunks and trims the first one. A buffer that a segment still shares is never written
// again (the packet layer refuses to write shared buffers in place), so writes never change
// bytes in flight.
//
// Descriptors. Sharing a chunk takes slice descriptors from the pool its buffers belong to;
// for send_zc data that is the application's pool, which may have few (two a buffer by
// default), and segments in flight hold them until the NIC has sent them. When that pool has
// none left, segment() copies the piece into buffers of `fallback` (the stack's pool) instead
// of failing: waiting would need a wake-up from a pool the stack does not watch, and a TCP
// that retried at every free of its own pool's buffers would spin.
//
// Memory. An empty send buffer holds no allocation (lazy_deque), so an idle connection pays
// only for the object itself.
//
// Capacity. size() counts every buffered byte; free_space() is what write() and send_zc() may
// still add (the engine's writer waits while it is 0). set_capacity() may shrink below size():
// nothing is dropped, free_space() stays 0 until enough is acknowledged.
#include <cstddef>
#include <cstdint>
#include <span>

#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"
#include "framework/result.hpp"
#include "protocols/tcp/lazy_deque.hpp"
#include "protocols/tcp/seq.hpp"

namespace coronet::tcp {

class send_buffer {
public:
    // `pool` provides the buffers write() copies into; `start` is the first byte's sequence
    // number (ISS + 1).
    // `budget`, when given, is charged for the buffers the queue pins.
    send_buffer(buffer_pool& pool, std::size_t capacity, seq32 start,
                memory_budget* budget = nullptr) noexcept
        : pool_(&pool), capacity_(capacity), begin_(start), end_(start),
          charge_(budget, queue_kind::tcp_send) {}

    // Copies as many of `bytes` as fit; adds them to `copied`. Returns the count taken (0 when
    // full, or when the budget refuses this queue another buffer: it holds its share of a
    // host under pressure). ENOBUFS when the pool has no buffer but its reserve before any
    // byte was taken: the writer waits for buffers to be freed.
    result<std::size_t> write(std::span<const std::byte> bytes, counter& copied);
    // Whether the budget lets the queue pin `buffers` more (a refusal is counted there).
    bool may_take(std::size_t buffers) noexcept;
    // Appends `data` without copying, whole or not at all: EAGAIN when it does not fit now,
    // EMSGSIZE when it could never fit.
    result<void> send_zc(packet data);

    // A packet sharing the `length` bytes from `seq` (which must lie in [begin(), end()) with
    // the bytes after it): EINVAL outside, ENOBUFS without descriptors.
    // `fallback`/`copied`: where a piece goes, counted, when its chunk's pool has no
    // descriptor left (above); without them that is ENOBUFS.
    result<packet> segment(seq32 seq, std::size_t length, buffer_pool* fallback = nullptr,
                           counter* copied = nullptr) const;
    // Releases the bytes before `up_to` (a new snd.una); returns how many. An ACK outside
    // (begin(), end()] releases nothing.
    std::size_t acknowledge(seq32 up_to) noexcept;

    seq32 begin() const noexcept { return begin_; } // snd.una
    seq32 end() const noexcept { return end_; }     // one past the last buffered byte
    std::size_t size() const noexcept { return distance(begin_, end_); }
    bool empty() const noexcept { return begin_ == end_; }
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t free_space() const noexcept { return capacity_ > size() ? capacity_ - size() : 0; }
    void set_capacity(std::size_t c) noexcept { capacity_ = c; }
    std::size_t chunk_count() const noexcept { return chunks_.size(); }
    std::uint32_t buffers_charged() const noexcept { return charge_.held(); }

private:
    struct chunk {
        seq32 begin;
        packet data;
        std::uint32_t filled; // bytes written into its buffer by write(); 0 for send_zc chunks
        bool zero_copy;
        seq32 end() const noexcept { return begin + static_cast<std::uint32_t>(data.length()); }
    };
    // True when write() may copy more into the last chunk's buffer.
    bool tail_writable() const noexcept;

    buffer_pool* pool_;
    std::size_t capacity_;
    seq32 begin_;
    seq32 end_;
    lazy_deque<chunk> chunks_; // allocates nothing while the buffer is empty
    memory_charge charge_;     // one buffer a chunk (a send_zc slice may share one: counted whole)
};

} // namespace coronet::tcp
