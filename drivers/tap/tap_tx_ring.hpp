#pragma once
// tap_tx_ring: the transmit half of the TAP driver, the NIC's TX descriptor ring.
//
// Why it is built this way. Each frame is one io_uring writev on the TAP descriptor: the
// virtio header as the first iovec, then the packet's slices as they are (no payload
// copy). The frame, its header and its iovec array wait in a slot until the write's
// completion (the transmit interrupt) releases them. Slots are a fixed array handed out
// from a free stack (completions may come back in any order): nothing is allocated per
// frame, and the writes in flight are bounded, which is the back-pressure: with every slot
// busy send() refuses with ENOBUFS, and the next completion calls `on_space`.
//
// Batching: send() only places the SQE in the submission ring; the kernel sees every
// frame of a DPC pass (or of a turn of user work) at the scheduler's next io_uring_enter.
#include "drivers/tap/vnet_header.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"
#include "framework/uring/reactor.hpp"

#include <cstdint>
#include <memory>
#include <sys/uio.h>

namespace coronet {

class tap_tx_ring {
public:
    using notify = void (*)(void* context);
    struct counters {
        counter& errors;          // writes the kernel refused
        counter& short_writes;    // writes that took less than the whole frame
        counter& offload_frames;  // frames sent with a partial checksum or as a large segment
        counter& too_many_slices; // frames refused for having more slices than an iovec array holds
    };

    tap_tx_ring(uring::uring_reactor& reactor, int fd, unsigned slots, unsigned max_slices,
                counters c, notify on_space, void* context);
    tap_tx_ring(const tap_tx_ring&) = delete;
    tap_tx_ring& operator=(const tap_tx_ring&) = delete;
    // Must be idle(): the kernel may still read a slot's iovecs.
    ~tap_tx_ring();

    // Takes the frame. ENOBUFS: every slot is busy; EMSGSIZE: more slices than max_slices.
    result<> send(packet&& frame);

    unsigned in_flight() const noexcept { return slots_count_ - free_top_; }
    unsigned capacity() const noexcept { return slots_count_; }
    bool idle() const noexcept { return in_flight() == 0; }

private:
    struct slot : uring::io_request {
        slot() noexcept : io_request(&on_written) {}
        tap_tx_ring* owner = nullptr;
        packet frame;
        virtio_net_hdr header{};
        iovec* iov = nullptr;
        std::uint32_t bytes = 0;
        std::uint32_t index = 0;
    };
    static void on_written(uring::io_completion* c, int res, std::uint32_t flags);

    uring::uring_reactor& reactor_;
    int fd_;
    unsigned slots_count_;
    unsigned max_slices_;
    counters stats_;
    notify on_space_;
    void* context_;
    std::unique_ptr<slot[]> slots_;
    std::unique_ptr<iovec[]> iovecs_;       // 1 + max_slices per slot
    std::unique_ptr<std::uint32_t[]> free_; // stack of free slot indices
    unsigned free_top_ = 0;
    bool full_ = false; // a send was refused since the last completion
};

} // namespace coronet
