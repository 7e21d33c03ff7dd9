#include "framework/buffer/buffer_pool.hpp"

#include "framework/wait_queue.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <system_error>

namespace coronet {

namespace {

buffer_pool_options checked(buffer_pool_options o) {
    if (o.buffer_size == 0 || o.buffer_size % 64 != 0)
        throw std::invalid_argument(
            "buffer_pool: buffer_size must be a non-zero multiple of 64, not " +
            std::to_string(o.buffer_size));
    if (o.buffer_count == 0 || o.buffer_count == UINT32_MAX)
        throw std::invalid_argument("buffer_pool: bad buffer_count " +
                                    std::to_string(o.buffer_count));
    if (o.reserve == buffer_pool_options::default_reserve)
        o.reserve = std::min(std::max(o.buffer_count / 16, 64u), o.buffer_count / 4);
    if (o.reserve >= o.buffer_count)
        throw std::invalid_argument("buffer_pool: reserve " + std::to_string(o.reserve) +
                                    " leaves no buffer for queues");
    if (o.slice_count == 0)
        o.slice_count = o.buffer_count <= UINT32_MAX / 2 ? 2 * o.buffer_count : UINT32_MAX;
    return o;
}

std::size_t page_rounded(std::size_t n) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
}

} // namespace

buffer_pool::buffer_pool(buffer_pool_options options)
    : buffer_pool(checked(options), validated{}) {}

buffer_pool::buffer_pool(const buffer_pool_options& o, validated)
    : mapped_(page_rounded(std::size_t{o.buffer_size} * o.buffer_count)),
      buffer_size_(o.buffer_size), buffer_count_(o.buffer_count), reserve_(o.reserve),
      refs_(std::make_unique<std::uint32_t[]>(o.buffer_count)),
      free_(std::make_unique<std::uint32_t[]>(o.buffer_count)), slices_(o.slice_count) {
    void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "buffer_pool: mmap");
    base_ = static_cast<std::byte*>(p);
    // Pushed last to first, so buffer 0 is handed out first.
    for (std::uint32_t i = buffer_count_; i > 0; --i)
        push_free(i - 1);
}

wait_queue& buffer_pool::buffers_freed() {
    if (!freed_) freed_ = std::make_unique<wait_queue>();
    return *freed_;
}

void buffer_pool::wake_freed() noexcept {
    if (!freed_->empty()) freed_->wake_all();
}

buffer_pool::~buffer_pool() {
    assert(in_use_ == 0 && "buffer_refs outlive their pool");
    ::munmap(base_, mapped_);
}

bool buffer_pool::take_from_reserve(buffer_use use) noexcept {
    if (free_top_ == 0 || use == buffer_use::queue) {
        ++allocation_failures_;
        if (free_top_ != 0) ++reserve_refusals_;
        return false;
    }
    ++reserve_allocations_;
    return true;
}

result<std::uint32_t> buffer_pool::lend() noexcept {
    // A ring refill: the reserve is there for it.
    if (free_top_ <= reserve_ && !take_from_reserve(buffer_use::control)) return error{ENOBUFS};
    const auto i = free_[--free_top_];
    refs_[i] = 0;
    ++lent_;
    return i;
}

buffer_ref buffer_pool::adopt(std::uint32_t index) {
    if (index >= buffer_count_ || refs_[index] != 0)
        throw std::logic_error("buffer_pool::adopt: buffer " + std::to_string(index) +
                               " is not lent to the driver");
    refs_[index] = 1;
    --lent_;
    if (++in_use_ > high_water_) high_water_ = in_use_;
    return buffer_ref(this, index);
}

void buffer_pool::recycle(std::uint32_t index) {
    if (index >= buffer_count_ || refs_[index] != 0)
        throw std::logic_error("buffer_pool::recycle: buffer " + std::to_string(index) +
                               " is not lent to the driver");
    --lent_;
    push_free(index);
}

result<std::uint32_t> buffer_pool::index_of(const void* p) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto base = reinterpret_cast<std::uintptr_t>(base_);
    if (a < base || a - base >= std::size_t{buffer_size_} * buffer_count_) return error{EFAULT};
    return static_cast<std::uint32_t>((a - base) / buffer_size_);
}

} // namespace coronet
