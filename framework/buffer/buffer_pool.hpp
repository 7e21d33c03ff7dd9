#pragma once
// buffer_pool: N fixed-size buffers carved from one page-aligned mmap'd region, with a
// reference count per buffer in a side array; buffer_ref: one counted reference to a buffer.
//
// Why it is built this way. One region, so a driver registers it once with io_uring (or posts
// its buffers to a provided-buffer ring by index); counts beside the data, so the payload
// bytes stay exactly as the NIC wrote them and a buffer can be handed to the kernel whole.
// A free buffer sits on a LIFO stack of indices (O(1), and the buffer freed last, still warm
// in cache, is reused first). Running out is a value, ENOBUFS, counted; never a crash and
// never a fallback to the heap.
//
// Who frees what. Each buffer is in one of three states:
//   free     on the pool's free stack;
//   in use   held by buffer_refs and packet slices, each holding one reference;
//   lent     handed to a driver (lend()), e.g. posted to the NIC's RX ring; the pool neither
//            frees nor counts it as in use until the driver adopt()s it (the NIC filled it:
//            count 1) or recycle()s it (back to the free stack).
// When the last reference goes, the buffer returns to the free stack, unless a release hook
// is set: then it becomes lent again and the hook receives its index (a TAP driver re-posts it
// to its buffer ring; a hook that has no room calls recycle()).
// The pool also owns the slice descriptors that packets chain (see slice.hpp).
//
// The reserve. Queues (a send buffer's copy of written bytes, anything a peer or an
// application can make us keep) allocate with buffer_use::queue and are refused, ENOBUFS,
// while no more than reserve() buffers are free; control traffic (pure ACKs, RSTs,
// SYN-ACKs, window probes, headers of segments in flight) and the NIC's receive refills
// allocate as before and may use the last ones. So a host whose queues have filled the
// pool still answers, and its ring still receives the ACKs that will empty the queues.
//
// Running dry. buffers_freed() wakes its waiters when a buffer goes back on the free stack
// (a writer that found the pool empty, TCP output that could not build a segment). The
// queue is made on first use, so a pool nobody ever waited on pays one test of a null
// pointer per release. (Declared only here: its header would bring the scheduler, and with
// it <unistd.h>, into every user of packets.)
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>

#include "framework/buffer/slice.hpp"
#include "framework/result.hpp"

namespace coronet {

class buffer_pool;
class packet;
class wait_queue;

class buffer_ref {
public:
    buffer_ref() noexcept = default;
    buffer_ref(const buffer_ref& other) noexcept;
    buffer_ref(buffer_ref&& other) noexcept : pool_(other.pool_), index_(other.index_) {
        other.pool_ = nullptr;
    }
    buffer_ref& operator=(const buffer_ref& other) noexcept;
    buffer_ref& operator=(buffer_ref&& other) noexcept;
    ~buffer_ref() { reset(); }

    // Drops the reference (the buffer goes back when it was the last one).
    void reset() noexcept;

    explicit operator bool() const noexcept { return pool_ != nullptr; }
    buffer_pool* pool() const noexcept { return pool_; }
    std::uint32_t index() const noexcept { return index_; }
    // The whole buffer. Bytes handed to a packet (append_slice) must not change while shared.
    std::span<std::byte> data() const noexcept;
    std::uint32_t use_count() const noexcept;

private:
    friend class buffer_pool;
    // Takes over a reference already counted.
    buffer_ref(buffer_pool* pool, std::uint32_t index) noexcept : pool_(pool), index_(index) {}
    buffer_pool* pool_ = nullptr;
    std::uint32_t index_ = 0;
};

struct buffer_pool_options {
    std::uint32_t buffer_size = 2048; // a non-zero multiple of 64: each buffer starts a cache line
    std::uint32_t buffer_count = 1024;
    std::uint32_t slice_count = 0; // packet descriptors; 0 means two per buffer
    // Buffers queues may never take (see "The reserve"). default_reserve: 1/16 of the pool,
    // at least 64 buffers, but never more than a quarter of a small pool.
    static constexpr std::uint32_t default_reserve = UINT32_MAX;
    std::uint32_t reserve = default_reserve;
};

// What an allocation is for: whether it may use the reserve.
enum class buffer_use : std::uint8_t {
    control, // transient: segments without data, headers, ring refills; may use the reserve
    queue,   // held in a queue for a time a peer or an application chooses; never the reserve
};

class buffer_pool {
public:
    // Bad options throw std::invalid_argument, a failed mmap std::system_error (start-up).
    explicit buffer_pool(buffer_pool_options options = {});
    // Every buffer must be back (or lent) by then: references do not outlive their pool.
    ~buffer_pool();
    buffer_pool(const buffer_pool&) = delete;
    buffer_pool& operator=(const buffer_pool&) = delete;

    // A free buffer with count 1; ENOBUFS (counted) when none is free, or, for a queue, when
    // only the reserve is left.
    result<buffer_ref> allocate(buffer_use use = buffer_use::control) noexcept {
        const auto i = take(use);
        if (i == no_buffer) return error{ENOBUFS};
        return buffer_ref(this, i);
    }

    // --- the driver's side ---
    // Takes a free buffer out for the driver (to post to the NIC); ENOBUFS (counted) if none.
    result<std::uint32_t> lend() noexcept;
    // The NIC filled lent buffer `index`: it becomes a reference with count 1.
    // Adopting a buffer that is not lent is a driver bug: std::logic_error.
    buffer_ref adopt(std::uint32_t index);
    // Lent buffer `index` goes back to the free stack (driver shutdown, or a full ring).
    void recycle(std::uint32_t index);
    // Called with the index instead of freeing when a buffer's last reference goes (it runs
    // inside a release, so it must not throw); an empty function restores the free stack.
    void on_release(std::function<void(std::uint32_t)> hook) { on_release_ = std::move(hook); }

    // --- the memory ---
    // All buffers, back to back, from a page-aligned address (buffer i at i * buffer_size()).
    std::span<std::byte> region() const noexcept {
        return {base_, std::size_t{buffer_size_} * buffer_count_};
    }
    std::span<std::byte> data(std::uint32_t index) const noexcept {
        assert(index < buffer_count_);
        return {at(index), buffer_size_};
    }
    // The buffer holding address p; EFAULT when p is outside the region.
    result<std::uint32_t> index_of(const void* p) const noexcept;
    std::uint32_t buffer_size() const noexcept { return buffer_size_; }
    std::uint32_t buffer_count() const noexcept { return buffer_count_; }
    // References held on buffer `index` (0 when free or lent).
    std::uint32_t use_count(std::uint32_t index) const noexcept {
        assert(index < buffer_count_);
        return refs_[index] == free_mark ? 0 : refs_[index];
    }

    // --- statistics ---
    std::uint32_t in_use() const noexcept { return in_use_; }
    std::uint32_t available() const noexcept { return free_top_; }
    std::uint32_t lent() const noexcept { return lent_; }
    std::uint32_t high_water() const noexcept { return high_water_; }
    std::uint64_t allocation_failures() const noexcept { return allocation_failures_; }
    std::uint32_t reserve() const noexcept { return reserve_; }
    // Queue allocations refused to keep the reserve (also counted in allocation_failures).
    std::uint64_t reserve_refusals() const noexcept { return reserve_refusals_; }
    // Control allocations (and lends) served from the reserve: the host answered while full.
    std::uint64_t reserve_allocations() const noexcept { return reserve_allocations_; }

    // Woken when a buffer is free again (released or recycled); the waiter re-checks.
    wait_queue& buffers_freed();

    slice_pool& slices() noexcept { return slices_; }
    const slice_pool& slices() const noexcept { return slices_; }

private:
    friend class buffer_ref;
    friend class packet;
    static constexpr std::uint32_t no_buffer = UINT32_MAX;
    static constexpr std::uint32_t free_mark = UINT32_MAX; // refs_ of a buffer on the free stack

    struct validated {};
    buffer_pool(const buffer_pool_options& checked, validated);

    std::byte* at(std::uint32_t index) const noexcept {
        return base_ + std::size_t{index} * buffer_size_;
    }
    // A free buffer with count 1, or no_buffer (counted).
    std::uint32_t take(buffer_use use = buffer_use::control) noexcept {
        if (free_top_ <= reserve_) [[unlikely]] {
            if (!take_from_reserve(use)) return no_buffer;
        }
        const auto i = free_[--free_top_];
        refs_[i] = 1;
        if (++in_use_ > high_water_) high_water_ = in_use_;
        return i;
    }
    // Whether an allocation may go on when only the reserve is left (counts either way).
    bool take_from_reserve(buffer_use use) noexcept;
    void retain(std::uint32_t index) noexcept { ++refs_[index]; }
    void release(std::uint32_t index) noexcept {
        if (--refs_[index] != 0) return;
        --in_use_;
        if (on_release_) {
            ++lent_; // lent before the hook runs: the hook may recycle() it
            on_release_(index);
        } else {
            push_free(index);
        }
    }
    void push_free(std::uint32_t index) noexcept {
        refs_[index] = free_mark;
        free_[free_top_++] = index;
        if (freed_ != nullptr) [[unlikely]]
            wake_freed();
    }

    std::byte* base_ = nullptr;
    std::size_t mapped_ = 0;
    std::uint32_t buffer_size_;
    std::uint32_t buffer_count_;
    std::uint32_t reserve_;
    std::unique_ptr<std::uint32_t[]> refs_;
    std::unique_ptr<std::uint32_t[]> free_; // stack of free indices
    std::uint32_t free_top_ = 0;
    std::uint32_t in_use_ = 0;
    std::uint32_t lent_ = 0;
    std::uint32_t high_water_ = 0;
    std::uint64_t allocation_failures_ = 0;
    std::uint64_t reserve_refusals_ = 0;
    std::uint64_t reserve_allocations_ = 0;
    std::function<void(std::uint32_t)> on_release_;
    slice_pool slices_;
    std::unique_ptr<wait_queue> freed_; // made by buffers_freed()
    void wake_freed() noexcept;
};

inline buffer_ref::buffer_ref(const buffer_ref& other) noexcept
    : pool_(other.pool_), index_(other.index_) {
    if (pool_ != nullptr) pool_->retain(index_);
}

inline buffer_ref& buffer_ref::operator=(const buffer_ref& other) noexcept {
    buffer_pool* const pool = other.pool_; // read first: other may be *this
    const auto index = other.index_;
    if (pool != nullptr) pool->retain(index);
    reset();
    pool_ = pool;
    index_ = index;
    return *this;
}

inline buffer_ref& buffer_ref::operator=(buffer_ref&& other) noexcept {
    if (this != &other) {
        reset();
        pool_ = other.pool_;
        index_ = other.index_;
        other.pool_ = nullptr;
    }
    return *this;
}

inline void buffer_ref::reset() noexcept {
    if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(index_);
}

inline std::span<std::byte> buffer_ref::data() const noexcept {
    if (pool_ == nullptr) return {};
    return pool_->data(index_);
}

inline std::uint32_t buffer_ref::use_count() const noexcept {
    return pool_ == nullptr ? 0 : pool_->use_count(index_);
}

} // namespace coronet
