#include "framework/uring/buffer_ring.hpp"

#include <stdexcept>
#include <system_error>

namespace coronet::uring {

provided_buffer_ring::provided_buffer_ring(uring_reactor& reactor, std::uint16_t group, std::span<std::byte> region,
                                           std::size_t buffer_size, unsigned count)
    : ring_(reactor.ring()), region_(region), buffer_size_(buffer_size), count_(count), group_(group) {
    if (count == 0 || count > 32768) throw std::invalid_argument("coronet: a buffer ring holds 1 to 32768 buffers");
    if (buffer_size == 0 || buffer_size > UINT32_MAX || region.size() / buffer_size < count)
        throw std::invalid_argument("coronet: the region cannot hold count buffers of buffer_size bytes");
    while (entries_ < count) entries_ <<= 1;
    int err = 0;
    br_ = io_uring_setup_buf_ring(&ring_, entries_, group, 0, &err);
    if (!br_) throw std::system_error(-err, std::generic_category(), "coronet: io_uring_setup_buf_ring");
    int mask = io_uring_buf_ring_mask(entries_);
    for (unsigned id = 0; id < count; ++id) {
        auto b = buffer(static_cast<std::uint16_t>(id));
        io_uring_buf_ring_add(br_, b.data(), static_cast<unsigned>(buffer_size_), static_cast<unsigned short>(id),
                              mask, static_cast<int>(id));
    }
    io_uring_buf_ring_advance(br_, static_cast<int>(count));
}

provided_buffer_ring::~provided_buffer_ring() { io_uring_free_buf_ring(&ring_, br_, entries_, group_); }

void provided_buffer_ring::recycle(std::uint16_t id) noexcept {
    auto b = buffer(id);
    io_uring_buf_ring_add(br_, b.data(), static_cast<unsigned>(buffer_size_), id,
                          io_uring_buf_ring_mask(entries_), 0);
    io_uring_buf_ring_advance(br_, 1);
    ++recycled_;
}

} // namespace coronet::uring
