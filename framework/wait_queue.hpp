#pragma once
// The sleep/wake-up primitives that socket buffers, accept queues and interrupt lines are
// built on, after the kernel's wait queues:
// - wait_queue: coroutines sleep on it in FIFO order until woken (wake_one / wake_all).
//   The caller re-checks its condition after waking, as with a condition variable.
// - event: a flag that is set or clear; manual-reset wakes every waiter and stays set,
//   auto-reset hands one set() to exactly one waiter.
// - semaphore: a count of units; acquire takes one or waits (FIFO), release hands units
//   straight to waiters so a late arrival cannot overtake one that waits.
// Every wait returns result<void>: ECANCELED when the awaiting coroutine's stop token
// fires first, in which case it consumed nothing.
#include "framework/result.hpp"
#include "framework/waiter.hpp"

#include <boost/intrusive/list.hpp>
#include <cstddef>

namespace coronet {

class wait_queue {
    using hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

public:
    class awaiter : public waiter, public hook {
    public:
        explicit awaiter(wait_queue& q) noexcept : waiter(&on_cancel), q_(q) {}
        bool await_ready() const noexcept { return false; }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) {
            if (!begin(h)) return false;
            q_.waiters_.push_back(*this);
            return true;
        }
        result<> await_resume() noexcept {
            int r = end();
            return r ? result<>{error{r}} : result<>{};
        }

    private:
        friend class wait_queue;
        static void on_cancel(waiter* w) {
            auto& self = static_cast<awaiter&>(*w);
            self.hook::unlink();
            self.complete(ECANCELED);
        }
        wait_queue& q_;
    };

    wait_queue() = default;
    wait_queue(const wait_queue&) = delete;
    wait_queue& operator=(const wait_queue&) = delete;

    awaiter wait() noexcept { return awaiter{*this}; }
    // Wakes the longest waiting coroutine; false if none waited.
    bool wake_one() noexcept {
        if (waiters_.empty()) return false;
        awaiter& a = waiters_.front();
        waiters_.pop_front();
        a.complete(0);
        return true;
    }
    std::size_t wake_all() noexcept {
        std::size_t n = 0;
        while (wake_one()) ++n;
        return n;
    }
    // Ends every wait with `err` (a socket being closed wakes its readers with EBADF...).
    std::size_t fail_all(int err) noexcept {
        std::size_t n = 0;
        while (!waiters_.empty()) {
            awaiter& a = waiters_.front();
            waiters_.pop_front();
            a.complete(err);
            ++n;
        }
        return n;
    }
    bool empty() const noexcept { return waiters_.empty(); }
    std::size_t size() const noexcept { return waiters_.size(); }

private:
    boost::intrusive::list<awaiter, boost::intrusive::base_hook<hook>, boost::intrusive::constant_time_size<false>>
        waiters_;
};

// A wait that is over at once when `ready` says so, and otherwise sleeps on a wait_queue.
// When it did not sleep, the inner awaiter was never started and reports success.
template <class Ready>
struct conditional_wait {
    Ready ready;
    wait_queue::awaiter inner;
    bool await_ready() noexcept { return ready(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return inner.await_suspend(h);
    }
    result<> await_resume() noexcept { return inner.await_resume(); }
};

class event {
public:
    enum class reset_mode { manual, automatic };
    explicit event(reset_mode mode = reset_mode::manual, bool initially_set = false) noexcept
        : mode_(mode), set_(initially_set) {}

    bool is_set() const noexcept { return set_; }
    void set() noexcept {
        if (mode_ == reset_mode::automatic) {
            if (!q_.wake_one()) set_ = true; // a waiter takes the set() itself
            return;
        }
        set_ = true;
        q_.wake_all();
    }
    void reset() noexcept { set_ = false; }

    auto wait() noexcept {
        auto ready = [this]() noexcept {
            if (!set_) return false;
            if (mode_ == reset_mode::automatic) set_ = false;
            return true;
        };
        return conditional_wait<decltype(ready)>{ready, q_.wait()};
    }

private:
    reset_mode mode_;
    bool set_;
    wait_queue q_;
};

class semaphore {
public:
    explicit semaphore(std::size_t initial = 0) noexcept : count_(initial) {}

    std::size_t available() const noexcept { return count_; }
    bool try_acquire() noexcept {
        if (count_ == 0) return false;
        --count_;
        return true;
    }
    auto acquire() noexcept {
        // Waiters first: a newcomer takes a unit only when nobody queues for one.
        auto ready = [this]() noexcept { return q_.empty() && try_acquire(); };
        return conditional_wait<decltype(ready)>{ready, q_.wait()};
    }
    void release(std::size_t n = 1) noexcept {
        for (; n > 0; --n)
            if (!q_.wake_one()) ++count_; // handed straight to the longest waiter
    }

private:
    std::size_t count_;
    wait_queue q_;
};

} // namespace coronet
