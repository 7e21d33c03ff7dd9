#pragma once
// receive_buffers: the buffers the host stack lends through recv_zc. A pool of its own,
// every buffer posted to one provided-buffer ring (io_uring's IOSQE_BUFFER_SELECT), so a
// receive takes a buffer only when its data arrives, however many sockets wait: the kernel
// writes the bytes into the buffer and recv_zc hands it to the caller as a packet, with no
// copy of ours. When the caller drops the packet, the buffer goes back to the ring (the
// pool's release hook), as a NIC driver re-posts its receive buffers.
//
// One receive takes at most one buffer (no multishot): a socket holds only what its caller
// asked for, so one busy connection cannot take the ring from the others. When callers hold
// every buffer, a receive fails with ENOBUFS before the kernel consumes anything; a blocking
// recv_zc then waits for a buffer to come back (returned()).
//
// Made on the first recv_zc (a server that only reads maps nothing). Packets from it must be
// dropped before the stack goes, as packets of a native stack before its pool.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/uring/buffer_ring.hpp"
#include "framework/wait_queue.hpp"

#include <cstdint>
#include <memory>

namespace coronet::host {

class receive_buffers {
public:
    // Throws std::invalid_argument for a bad count or size, std::system_error when the
    // kernel refuses the ring.
    receive_buffers(uring::uring_reactor& reactor, std::uint32_t count, std::uint32_t size);
    ~receive_buffers();
    receive_buffers(const receive_buffers&) = delete;
    receive_buffers& operator=(const receive_buffers&) = delete;

    uring::provided_buffer_ring& ring() noexcept { return *ring_; }
    // The buffer a receive filled, as a packet; ENOBUFS if no slice descriptor is left.
    result<packet> lend(uring::selected_buffer b);
    // Woken when a buffer goes back to the ring while a receive waits for one.
    wait_queue& returned() noexcept { return returned_; }

    std::uint32_t count() const noexcept { return count_; }
    std::uint32_t buffer_size() const noexcept { return pool_.buffer_size(); }
    // Buffers callers hold now (lent by recv_zc, not yet dropped).
    std::uint32_t held() const noexcept { return pool_.in_use(); }
    // Receives that found every buffer held (ENOBUFS from the kernel).
    std::uint64_t exhausted() const noexcept { return exhausted_; }
    void count_exhausted() noexcept { ++exhausted_; }

private:
    void released(std::uint32_t index) noexcept;

    buffer_pool pool_;
    std::unique_ptr<uring::provided_buffer_ring> ring_;
    wait_queue returned_;
    std::uint32_t count_;
    std::uint64_t exhausted_ = 0;
};

} // namespace coronet::host
