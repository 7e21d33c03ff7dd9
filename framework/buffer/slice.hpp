#pragma once
// slice: one link of a packet's chain, naming `length` bytes at `offset` in buffer `index` of
// `pool`. A slice holds exactly one reference on its buffer, taken when the slice is made and
// dropped when it is freed; that is what lets two packets (or a packet and a user's
// buffer_ref) share a buffer, and what tells a packet it owns a buffer alone (count 1).
//
// slice_pool: the fixed set of slice descriptors a buffer_pool owns. A descriptor always comes
// from the pool of the buffer it points at, so it goes back through slice->pool without any
// other bookkeeping, and one chain may mix buffers of several pools (a header buffer of the
// stack's pool in front of a user's zero-copy buffer). One array allocated at start-up, an
// intrusive free list: O(1), no heap on the hot path, and exhaustion is a value (nullptr here,
// ENOBUFS to the packet's caller), counted.
#include <cassert>
#include <cstdint>
#include <memory>

namespace coronet {

class buffer_pool;

struct slice {
    buffer_pool* pool = nullptr;
    std::uint32_t index = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    slice* next = nullptr;
};

class slice_pool {
public:
    explicit slice_pool(std::uint32_t count)
        : slices_(std::make_unique<slice[]>(count)), capacity_(count) {
        for (std::uint32_t i = count; i > 0; --i) {
            slices_[i - 1].next = free_;
            free_ = &slices_[i - 1];
        }
    }
    ~slice_pool() { assert(in_use_ == 0 && "packets outlive their pool's descriptors"); }
    slice_pool(const slice_pool&) = delete;
    slice_pool& operator=(const slice_pool&) = delete;

    // A cleared descriptor, or nullptr (counted) when all are in use.
    slice* allocate() noexcept {
        slice* s = free_;
        if (s == nullptr) {
            ++allocation_failures_;
            return nullptr;
        }
        free_ = s->next;
        s->next = nullptr;
        if (++in_use_ > high_water_) high_water_ = in_use_;
        return s;
    }
    void free(slice* s) noexcept {
        s->next = free_;
        free_ = s;
        --in_use_;
    }

    std::uint32_t capacity() const noexcept { return capacity_; }
    std::uint32_t in_use() const noexcept { return in_use_; }
    std::uint32_t high_water() const noexcept { return high_water_; }
    std::uint64_t allocation_failures() const noexcept { return allocation_failures_; }

private:
    std::unique_ptr<slice[]> slices_;
    slice* free_ = nullptr;
    std::uint32_t capacity_;
    std::uint32_t in_use_ = 0;
    std::uint32_t high_water_ = 0;
    std::uint64_t allocation_failures_ = 0;
};

} // namespace coronet
