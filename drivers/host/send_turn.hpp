#pragma once
// send_turn: a stream socket's writes, one at a time and in the order they were called.
//
// Why. Each write is one or more sendmsg operations in the kernel. Two of them in flight on
// one socket at once may be served in either order, and a write whose first sendmsg was
// short would continue after another writer's bytes: the peer would get the streams
// interleaved. So a write takes the socket's turn before its first sendmsg and holds it
// until its last, and later writers wait for it in FIFO order. The waiting writers are the
// application's own coroutines, each waiting inside its own frame: nothing is allocated and
// their number is the application's (as many as it has writers on the socket).
//
// The turn is handed straight to the longest waiting writer when it is given back, so a
// writer that arrives meanwhile cannot overtake one that waits (as semaphore does). Closing
// the socket ends every wait with ECANCELED, as it cancels the write in the kernel.
#include "framework/wait_queue.hpp"

#include <cerrno>
#include <cstddef>

namespace coronet::host {

class send_turn {
public:
    // Waits for the turn: success once this writer holds it; ECANCELED when the awaiting
    // coroutine was cancelled first or the socket closed (no turn taken then).
    auto take() noexcept {
        auto ready = [this]() noexcept { return try_take(); };
        return conditional_wait<decltype(ready)>{ready, waiters_.wait()};
    }
    // Takes the turn if nobody holds it or waits for it (a non-blocking write).
    bool try_take() noexcept {
        if (held_ || !waiters_.empty()) return false;
        held_ = true;
        return true;
    }
    // Gives the turn to the next writer, or frees it when none waits.
    void give_back() noexcept {
        if (!waiters_.wake_one()) held_ = false;
    }
    // The socket's last handle closed: every waiting writer ends with ECANCELED.
    void close() noexcept { waiters_.fail_all(ECANCELED); }

    bool held() const noexcept { return held_; }
    std::size_t waiting() const noexcept { return waiters_.size(); }

    // Gives the turn back when the writer holding it is done, however it ends.
    class holder {
    public:
        explicit holder(send_turn& t) noexcept : t_(t) {}
        ~holder() { t_.give_back(); }
        holder(const holder&) = delete;
        holder& operator=(const holder&) = delete;

    private:
        send_turn& t_;
    };

private:
    wait_queue waiters_;
    bool held_ = false;
};

} // namespace coronet::host
