#pragma once
// The per-core scheduler: one per thread, sharing nothing with other cores. Each turn of
// its loop, in this order:
//   1. fires the timers that are due (timer wheel, on the clock it was given);
//   2. reaps io_uring completions (the reactor raises interrupts for NICs);
//   3. runs deferred procedure calls, each with a budget (NAPI-style), before user work;
//   4. resumes a batch of ready coroutines.
// When nothing is ready it idles: with a real clock it blocks in the reactor until the
// next timer is due; with a virtual clock, if no real I/O is in flight, it jumps time to
// the next timer instead, so simulations run as fast as the CPU allows.
#include "framework/clock.hpp"
#include "framework/io_backend.hpp"
#include "framework/task.hpp"
#include "framework/timer_wheel.hpp"

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/slist.hpp>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>

namespace coronet {

class interrupt_controller;

// A coroutine waiting in the ready queue. Embedded in awaiters: no allocation to wake.
struct ready_node : boost::intrusive::slist_base_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>> {
    std::coroutine_handle<> handle;
};

// A deferred procedure call: the bottom half of an interrupt. Its routine does at most
// `budget` units of work and returns true if work remains (it is then queued again,
// behind the others, so one busy NIC cannot starve the rest).
class dpc : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    using routine = bool (*)(dpc*, unsigned budget);
    explicit dpc(routine fn) : fn_(fn) {}
    dpc(const dpc&) = delete;
    dpc& operator=(const dpc&) = delete;
    bool queued() const noexcept { return is_linked(); }

private:
    friend class scheduler;
    routine fn_;
};

// Thrown by run() when the awaited task can never finish: nothing is ready, no timer is
// armed and no I/O is in flight. Always a bug in the program (a lost wake-up).
class deadlock_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

struct scheduler_stats {
    std::uint64_t resumed = 0;      // coroutines resumed from the ready queue
    std::uint64_t dpcs_run = 0;     // DPC routine calls
    std::uint64_t timers_fired = 0;
    std::uint64_t idle_waits = 0;   // times the loop blocked in the reactor or slept
    std::uint64_t time_jumps = 0;   // virtual-clock jumps to the next timer
};

class scheduler {
public:
    struct options {
        clock_source* time_source = nullptr; // default: a real monotonic clock owned by the scheduler
        unsigned dpc_budget = 64;     // units of work (frames) per DPC call
        unsigned ready_batch = 256;   // coroutines resumed per loop turn before polling again
    };

    scheduler();
    explicit scheduler(options opts);
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;
    ~scheduler();

    // The scheduler of the calling thread (the innermost one constructed on it).
    static scheduler& current() {
        if (!current_) [[unlikely]]
            no_scheduler();
        return *current_;
    }
    static scheduler* current_or_null() noexcept { return current_; }

    clock_source& clock() noexcept { return *clock_; }
    time_point now() const noexcept { return clock_->now(); }
    timer_wheel& timers() noexcept { return timers_; }
    interrupt_controller& interrupts() noexcept { return *interrupts_; }
    const scheduler_stats& stats() const noexcept { return stats_; }

    // The reactor registers itself here; the scheduler does not own it.
    void attach_io(io_backend* io) noexcept { io_ = io; }
    io_backend* io() const noexcept { return io_; }

    void schedule(ready_node& n) noexcept { ready_.push_back(n); }
    // Takes `n` back out of the ready queue if it is there (waiter::withdraw).
    void unschedule(ready_node& n) noexcept {
        ready_.remove_if([&](const ready_node& x) { return &x == &n; });
    }
    void queue_dpc(dpc& d) noexcept {
        if (!d.queued()) dpcs_.push_back(d);
    }

    // One turn of the loop. With may_block it idles when nothing is ready. Returns false
    // when nothing can ever happen again (nothing ready, no timer, no I/O in flight).
    bool run_once(bool may_block = true);
    // Runs until nothing can happen any more (the program is quiescent).
    void run_until_idle();
    // One turn that never idles: fires due timers, reaps completions, runs DPCs and a batch
    // of ready coroutines. True if it found any of those to do. Several schedulers on one
    // thread (a simulated multi-core host) are driven this way, in turn, by their owner,
    // which moves their shared virtual clock when none of them has work.
    bool step();
    // The earliest armed timer, if any (for an owner that idles on behalf of the scheduler).
    std::optional<time_point> next_timer() { return timers_.next_expiry(); }

    // Makes `s` the calling thread's current scheduler for the activation's lifetime (and
    // restores the one before): how an owner of several schedulers on one thread runs each.
    class activation {
    public:
        explicit activation(scheduler& s) noexcept : previous_(current_) { current_ = &s; }
        ~activation() { current_ = previous_; }
        activation(const activation&) = delete;
        activation& operator=(const activation&) = delete;

    private:
        scheduler* previous_;
    };
    // Runs until pred() holds; false if the loop went quiescent first.
    template <class Pred>
    bool run_until(Pred pred) {
        while (!pred())
            if (!run_once(true)) return pred();
        return true;
    }
    // Starts t, runs the loop until it finishes, returns its value or rethrows.
    template <class T>
    T run(task<T> t);
    // The same for any awaitable (a join, an event wait...).
    template <class Awaitable>
    decltype(auto) run(Awaitable&& a) {
        using value = decltype(std::declval<Awaitable>().await_resume());
        return run([](Awaitable&& inner) -> task<value> { co_return co_await inner; }(
            std::forward<Awaitable>(a)));
    }

private:
    void run_dpcs();
    void run_ready();
    bool idle(bool may_block);

    [[noreturn]] static void no_scheduler();
    static inline thread_local scheduler* current_ = nullptr;

    std::unique_ptr<real_clock> own_clock_;
    clock_source* clock_;
    options opts_;
    timer_wheel timers_;
    boost::intrusive::slist<ready_node, boost::intrusive::cache_last<true>, boost::intrusive::constant_time_size<false>>
        ready_;
    boost::intrusive::list<dpc, boost::intrusive::constant_time_size<false>> dpcs_;
    std::unique_ptr<interrupt_controller> interrupts_;
    io_backend* io_ = nullptr;
    scheduler* previous_;
    scheduler_stats stats_;
};

// co_await yield(): go to the back of the ready queue and let others run.
struct yield {
    ready_node node;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        node.handle = h;
        scheduler::current().schedule(node);
    }
    void await_resume() const noexcept {}
};

namespace detail {

// A coroutine that starts suspended, runs when resumed, and frees itself at the end.
// The combinators (run, when_all, when_any, task_scope) drive child tasks with it.
struct driver {
    struct promise_type : promise_base {
        driver get_return_object() noexcept { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); } // drivers catch everything
    };
    std::coroutine_handle<promise_type> handle;
};

template <class T>
driver run_root(task<T>& t, std::optional<non_void_t<T>>* out, std::exception_ptr* error, bool* done) {
    try {
        if constexpr (std::is_void_v<T>)
            co_await std::move(t);
        else
            out->emplace(co_await std::move(t));
    } catch (...) {
        *error = std::current_exception();
    }
    *done = true;
}

} // namespace detail

template <class T>
T scheduler::run(task<T> t) {
    std::optional<non_void_t<T>> out;
    std::exception_ptr error;
    bool done = false;
    auto root = detail::run_root(t, &out, &error, &done).handle;
    root.resume();
    while (!done)
        if (!run_once(true)) {
            root.destroy(); // the suspended frames unhook themselves from what they wait on
            throw deadlock_error("coronet: the task waits for something that can never happen");
        }
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*out);
}

} // namespace coronet
