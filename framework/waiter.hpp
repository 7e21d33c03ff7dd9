#pragma once
// waiter: the state every blocking awaitable shares (a timer, a wait queue, an I/O
// operation). It lives inside the awaiter, in the coroutine frame: no allocation to block.
//
// A waiter ends exactly once, either woken by its source (complete) or cancelled through
// the awaiting coroutine's std::stop_token (ECANCELED). Whichever comes first wins; the
// other finds the waiter finished and does nothing. Either way the coroutine is resumed
// from the ready queue, never inside the waker or inside request_stop(), so waking is
// cheap and cannot re-enter the code that woke it.
#include "framework/scheduler.hpp"

#include <cerrno>
#include <optional>
#include <stop_token>

namespace coronet {

class waiter {
public:
    // Detaches the waiter from whatever it waits on (unlink from a queue, cancel a timer).
    // For an I/O operation it instead asks the kernel to let go, and completes later.
    using cancel_fn = void (*)(waiter*);

    explicit waiter(cancel_fn on_cancel) noexcept : on_cancel_(on_cancel) {}
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;

    bool waiting() const noexcept { return state_ == state::waiting; }
    int outcome() const noexcept { return result_; }

    // Called by the source: the wait is over with `res` (0 or an errno value). Schedules
    // the coroutine. Does nothing if the waiter already finished.
    void complete(int res) noexcept {
        if (state_ != state::waiting) return;
        state_ = state::done;
        result_ = res;
        sched_->schedule(node_);
    }

    // To call from await_suspend: records the coroutine and hooks up cancellation.
    // Returns false if the token was already stopped (the caller should not suspend and
    // will see ECANCELED).
    template <class P>
    bool begin(std::coroutine_handle<P> h) {
        node_.handle = h;
        sched_ = &scheduler::current();
        state_ = state::waiting;
        auto token = stop_token_of(h);
        if (token.stop_requested()) {
            state_ = state::done;
            result_ = ECANCELED;
            return false;
        }
        if (token.stop_possible()) stop_cb_.emplace(std::move(token), cancel_request{this});
        return true;
    }

    // A wait that completed but whose coroutine has not run yet sits in its scheduler's ready
    // queue; before that coroutine is destroyed unrun, take it out (O(ready queue), for
    // teardown paths). Does nothing otherwise.
    void withdraw() noexcept {
        if (state_ == state::done && sched_ != nullptr) sched_->unschedule(node_);
    }

    // To call from await_resume: drops the stop callback, returns the result.
    int end() noexcept {
        stop_cb_.reset();
        return result_;
    }

private:
    struct cancel_request {
        waiter* self;
        void operator()() const noexcept {
            if (self->state_ == state::waiting) self->on_cancel_(self);
        }
    };
    enum class state : unsigned char { idle, waiting, done };

    ready_node node_;
    scheduler* sched_ = nullptr;
    cancel_fn on_cancel_;
    int result_ = 0;
    state state_ = state::idle;
    std::optional<std::stop_callback<cancel_request>> stop_cb_;
};

} // namespace coronet
