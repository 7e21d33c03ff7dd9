#pragma once
// wake_relay: calls a function the next time a wait_queue wakes its waiters, for kernel code
// that is not a coroutine but must learn of a wake-up (TCP output learning that a NIC's
// transmit queue has room, nic::tx_ready(); or that the packet pool has buffers again).
//
// One-shot and armed on demand: arm() when there is something to wait for, and the function
// runs once, from the ready queue like any woken coroutine (never inside the code that woke
// the queue, so it cannot re-enter a driver). A relay that is not armed costs the queue
// nothing: its waker sees an empty queue.
//
// How. arm() starts a small coroutine (its frame from the recycled frame allocator) that
// waits on the queue once. The relay may go away while that frame waits in the queue (the
// frame is destroyed: its awaiter unhooks itself) or after it was woken and sits in the
// ready queue (it is taken out of the ready queue and destroyed: a scheduler that stops
// before running it would otherwise leak it).
#include "framework/wait_queue.hpp"

#include <coroutine>
#include <cstdint>

namespace coronet {

class wake_relay {
public:
    using callback = void (*)(void* context);

    wake_relay(wait_queue& q, callback fn, void* context) noexcept
        : queue_(&q), fn_(fn), context_(context) {}
    ~wake_relay();
    wake_relay(const wake_relay&) = delete;
    wake_relay& operator=(const wake_relay&) = delete;

    // Calls the function once, the next time the queue wakes; arming an armed relay does
    // nothing. Needs the calling thread's scheduler (the one that will run the function).
    void arm();
    bool armed() const noexcept { return wait_ != nullptr; }
    // How often the function ran.
    std::uint64_t fired() const noexcept { return fired_; }

    struct state; // lives in the waiting frame
    // Called by the waiting frame when the queue woke it (`woken`) or failed its wait.
    void fire(bool woken);

private:
    wait_queue* queue_;
    callback fn_;
    void* context_;
    state* wait_ = nullptr;
    std::uint64_t fired_ = 0;
};

} // namespace coronet
