#pragma once
// tap_rx_ring: the receive half of the TAP driver, the NIC's RX descriptor ring.
//
// Why it is built this way. The receive buffers are the NIC pool's own first `count`
// buffers: lent to the pool's driver side at start and posted to an io_uring provided-
// buffer ring, so the kernel writes each frame (virtio header first) straight into a pool
// buffer and the DPC adopts it as a packet buffer without a copy. When the last reference
// to such a buffer goes, the pool's release hook posts it to the ring again. One standing
// read lands the frames (multishot, or single reads with buffer selection on older
// kernels); each completion queues the buffer in a FIFO and calls `on_ready` (the NIC
// raises its interrupt).
//
// Running dry. io_uring picks a buffer before it reads, so with none posted a read ends at
// once with ENOBUFS, frame or no frame, and frames would pile up in the kernel's queue to
// come out late. A NIC drops at the wire instead: while the ring is empty a discard read
// takes each frame that arrives into a scratch buffer and counts it (dropped_no_buffer).
// A buffer coming back calls `on_ready` once; the DPC's refill() then cancels the discard
// read, and its completion starts the standing read again.
//
// The pool's release hook belongs to this ring while it lives: one NIC per pool.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/counters.hpp"
#include "framework/uring/buffer_ring.hpp"
#include "framework/uring/standing_read.hpp"

#include <cstdint>
#include <memory>
#include <optional>

namespace coronet {

class tap_rx_ring {
public:
    using notify = void (*)(void* context);
    struct counters {
        counter& dropped_no_buffer; // frames that came while no buffer was posted
        counter& errors;            // reads that failed
        counter& restarts;          // times reading resumed after running dry
    };
    struct options {
        unsigned count = 0;                 // buffers, the pool's first ones
        std::optional<std::uint16_t> group; // io_uring buffer group; first free from 0x100
        bool multishot = true;
        std::size_t scratch_bytes = 0; // the largest frame the discard read takes
    };

    // Throws std::invalid_argument when the pool's first `count` buffers are not free,
    // std::system_error when io_uring refuses the ring.
    tap_rx_ring(uring::uring_reactor& reactor, int fd, buffer_pool& pool, const options& o,
                counters c, notify on_ready, void* context);
    tap_rx_ring(const tap_rx_ring&) = delete;
    tap_rx_ring& operator=(const tap_rx_ring&) = delete;
    // Must be idle(). Gives the buffers still posted back to the pool's free stack.
    ~tap_rx_ring();

    void start();
    // Ends every read; idle() once the kernel has let go.
    void stop();
    bool idle() const noexcept;

    // The oldest filled buffer (still lent: the caller adopts it from the pool).
    std::optional<uring::selected_buffer> pop() noexcept;
    bool has_completed() const noexcept { return fifo_count_ > 0; }
    // From the DPC: after running dry, resumes reading once buffers are posted again.
    void refill();

    unsigned count() const noexcept { return count_; }
    std::uint16_t group() const noexcept { return ring_->group(); }
    bool multishot() const noexcept { return read_.multishot(); }
    bool dry() const noexcept { return dry_; }
    // Buffers posted to the kernel now.
    std::uint64_t posted() const noexcept { return count_ - taken_ + ring_->recycled(); }

private:
    static std::unique_ptr<uring::provided_buffer_ring>
    make_ring(uring::uring_reactor& reactor, buffer_pool& pool, const options& o);
    static void on_read(uring::standing_read& self, result<uring::selected_buffer> res, bool more);
    static void on_discard(uring::io_completion* c, int res, std::uint32_t flags);
    static void on_cancel(uring::io_completion*, int, std::uint32_t) noexcept {}
    // An io_request that knows its ring (its completion handler is static).
    struct owned_request : uring::io_request {
        owned_request(tap_rx_ring& o, handler h) noexcept : io_request(h), owner(o) {}
        tap_rx_ring& owner;
    };
    void buffer_released(std::uint32_t index) noexcept;
    void ended(int err);
    void arm_discard();
    void resume();

    uring::uring_reactor& reactor_;
    buffer_pool& pool_;
    int fd_;
    unsigned count_;
    counters stats_;
    notify on_ready_;
    void* context_;
    std::unique_ptr<uring::provided_buffer_ring> ring_;
    uring::standing_read read_;
    owned_request discard_;
    owned_request cancel_; // of the discard read
    std::unique_ptr<std::byte[]> scratch_;
    std::size_t scratch_bytes_;
    std::unique_ptr<uring::selected_buffer[]> fifo_; // count_ entries: each buffer at most once
    unsigned fifo_head_ = 0;
    unsigned fifo_count_ = 0;
    std::uint64_t taken_ = 0; // buffers the kernel filled (posted = count - taken + recycled)
    bool dry_ = false;
    bool refill_signalled_ = false;
    bool stopping_ = false;
    bool dead_ = false; // the device is gone: reading stays off
};

} // namespace coronet
