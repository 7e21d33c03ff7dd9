#pragma once
// task_scope: detached spawning that can still be joined and cancelled (an async scope).
// spawn() queues the task to start on the next turn of the scheduler and returns at once;
// join() waits until every spawned task has ended; request_stop() cancels them all
// through their stop token. A task that throws does not take the others down: the first
// exception is kept and rethrown by join(), or handed to the error handler if one is set
// (a process uses that to end itself).
//
// A scope must not be destroyed while tasks run in it (they refer to it): join it first.
// The destructor checks and aborts the program loudly on that bug.
#include "framework/scheduler.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stop_token>
#include <type_traits>

namespace coronet {

class task_scope {
public:
    using error_handler = std::function<void(std::exception_ptr)>;

    task_scope() = default;
    explicit task_scope(error_handler on_error) : on_error_(std::move(on_error)) {}
    task_scope(const task_scope&) = delete;
    task_scope& operator=(const task_scope&) = delete;
    ~task_scope() {
        if (active_ != 0) {
            std::fputs("coronet: task_scope destroyed with tasks still running (join it first)\n", stderr);
            std::abort();
        }
    }

    void spawn(task<void> t) {
        auto h = run(std::move(t)).handle;
        h.promise().set_stop_token(stop_.get_token());
        ++active_;
        ++spawned_;
        h.promise().start.handle = h;
        scheduler::current().schedule(h.promise().start);
    }

    // Spawns a coroutine lambda, kept alive in the spawned frame. A lambda's captures live
    // in the closure object, so `spawn([&]() -> task<void> {...}())` would leave the task
    // reading a destroyed closure; `spawn([&]() -> task<void> {...})` is safe.
    template <class F>
        requires std::is_invocable_r_v<task<void>, F&>
    void spawn(F f) {
        spawn(as_task(std::move(f)));
    }

    void request_stop() noexcept { stop_.request_stop(); }
    bool stop_requested() const noexcept { return stop_.stop_requested(); }
    std::size_t active() const noexcept { return active_; }
    std::size_t spawned() const noexcept { return spawned_; }

    struct join_awaiter {
        task_scope& s;
        ready_node node;
        bool await_ready() const noexcept { return s.active_ == 0; }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            node.handle = h;
            s.joiners_.push_front(node);
        }
        void await_resume() {
            if (s.error_) std::rethrow_exception(std::exchange(s.error_, nullptr));
        }
    };
    // Waits for every spawned task to end. Not cancellable: a join that gave up would
    // leave tasks referring to the scope; call request_stop() first to hurry them.
    join_awaiter join() noexcept { return join_awaiter{*this, {}}; }

private:
    // A detached driver whose frame holds the node that queues its first run.
    struct spawned_driver {
        struct promise_type : promise_base {
            ready_node start;
            spawned_driver get_return_object() noexcept {
                return {std::coroutine_handle<promise_type>::from_promise(*this)};
            }
            std::suspend_always initial_suspend() noexcept { return {}; }
            std::suspend_never final_suspend() noexcept { return {}; }
            void return_void() noexcept {}
            void unhandled_exception() noexcept { std::terminate(); }
        };
        std::coroutine_handle<promise_type> handle;
    };

    spawned_driver run(task<void> t) {
        try {
            co_await std::move(t);
        } catch (...) {
            if (on_error_)
                on_error_(std::current_exception());
            else if (!error_)
                error_ = std::current_exception();
        }
        if (--active_ == 0) {
            auto& sched = scheduler::current();
            while (!joiners_.empty()) {
                ready_node& j = joiners_.front();
                joiners_.pop_front();
                sched.schedule(j);
            }
        }
    }

    std::stop_source stop_;
    std::size_t active_ = 0;
    std::size_t spawned_ = 0;
    std::exception_ptr error_;
    error_handler on_error_;
    boost::intrusive::slist<ready_node, boost::intrusive::constant_time_size<false>> joiners_;
};

} // namespace coronet
