#pragma once
// provided_buffer_ring: buffers handed to the kernel in advance, so that a read picks one
// only when data arrives (IOSQE_BUFFER_SELECT) instead of pinning a buffer per posted
// read. This is how a NIC posts receive buffers: the driver gives the region of its
// packet buffer pool, carved into `count` buffers of `buffer_size` bytes, numbered 0..n-1
// in order. A completion names the buffer it filled (IORING_CQE_F_BUFFER plus the id in
// the upper 16 bits of the flags); the buffer then belongs to the caller until recycle()
// posts it back. With no buffer posted a read fails with ENOBUFS (the NIC drops).
#include "framework/uring/reactor.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace coronet::uring {

// A buffer a read selected: its id in the ring and the bytes the read put in it.
struct selected_buffer {
    std::uint16_t id = 0;
    std::uint32_t size = 0;
};

class provided_buffer_ring {
public:
    // Registers the ring as buffer group `group` and posts every buffer. Throws
    // std::invalid_argument if the region is too small or count is 0 or above 32768,
    // std::system_error if the kernel refuses.
    provided_buffer_ring(uring_reactor& reactor, std::uint16_t group, std::span<std::byte> region,
                         std::size_t buffer_size, unsigned count);
    provided_buffer_ring(const provided_buffer_ring&) = delete;
    provided_buffer_ring& operator=(const provided_buffer_ring&) = delete;
    // Unregisters the group. No read may still select from it.
    ~provided_buffer_ring();

    std::uint16_t group() const noexcept { return group_; }
    unsigned count() const noexcept { return count_; }
    std::size_t buffer_size() const noexcept { return buffer_size_; }

    std::span<std::byte> buffer(std::uint16_t id) const noexcept {
        return region_.subspan(static_cast<std::size_t>(id) * buffer_size_, buffer_size_);
    }
    std::span<std::byte> data(selected_buffer b) const noexcept { return buffer(b.id).first(b.size); }

    // Posts buffer `id` back to the kernel; visible to the next read at once.
    void recycle(std::uint16_t id) noexcept;
    std::uint64_t recycled() const noexcept { return recycled_; }

    // The buffer a CQE names, if it consumed one.
    static std::optional<std::uint16_t> buffer_id(std::uint32_t cqe_flags) noexcept {
        if (!(cqe_flags & IORING_CQE_F_BUFFER)) return std::nullopt;
        return static_cast<std::uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
    }

private:
    io_uring& ring_;
    io_uring_buf_ring* br_ = nullptr;
    std::span<std::byte> region_;
    std::size_t buffer_size_;
    unsigned count_;
    unsigned entries_ = 1; // ring slots: a power of two >= count
    std::uint16_t group_;
    std::uint64_t recycled_ = 0;
};

} // namespace coronet::uring
