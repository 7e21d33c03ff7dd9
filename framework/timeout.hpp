#pragma once
// with_timeout(d, op) and with_deadline(t, op): an operation cut short when time runs out.
//
// How. The operation runs as a child under a stop source of the combinator's own (which
// the awaiting coroutine's token also reaches), beside a second child that sleeps until
// the deadline. Whichever ends first stops the other, and the combinator completes only
// when both have ended: when the deadline comes, the operation is asked to stop and is
// awaited to its end, so whatever it waited on (a wait queue, an io_uring operation that
// holds a buffer) has let go before the combinator returns. `d` starts when the
// combinator is awaited; time is the scheduler's clock, virtual in a simulation.
//
// The result.
// - An operation that gives result<U> (every system call does) gives its own result,
//   except that one cut short by the deadline (it ended with ECANCELED after the time ran
//   out) gives error{ETIMEDOUT}. One that finished anyway keeps its value: a read whose
//   bytes had arrived when the deadline came returns them, nothing it took is lost.
// - An operation that gives a plain T, or void, gives result<T>: ETIMEDOUT when the
//   deadline came before it ended. A plain value cannot say whether it was cut short, so
//   it is dropped then; give a result<U> where that matters.
// - Cancelling the awaiting coroutine gives what the operation gives then (ECANCELED for
//   a system call); an exception from the operation is rethrown.
//
// The same instant. The deadline acts from the ready queue, after the turn's timers, I/O
// completions and DPCs have run: an operation whose own wake-up falls due at the deadline
// (its timer, a frame that arrives then) completes with its value. A deadline already
// past still starts the operation: it completes if it can without waiting, else it is
// stopped on the next turn.
#include "framework/fork.hpp"
#include "framework/sleep.hpp"

#include <type_traits>
#include <variant>

namespace coronet {

namespace detail {

template <class T>
struct is_result : std::false_type {};
template <class U>
struct is_result<result<U>> : std::true_type {};

// What with_timeout of an operation giving T gives.
template <class T>
using timed_t = std::conditional_t<is_result<T>::value, T, result<T>>;

// The two children's shared state. fork.stop is the operation's stop source.
struct deadline_state {
    fork_state fork{false};
    std::stop_source timer_stop;
    bool op_done = false;
    bool expired = false; // the deadline came while the operation still ran
};

template <class T>
fork_driver deadline_op(task<T> t, std::optional<non_void_t<T>>* out, std::exception_ptr* error,
                        deadline_state* s) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            out->emplace();
        } else {
            out->emplace(co_await std::move(t));
        }
    } catch (...) {
        *error = std::current_exception();
    }
    s->op_done = true;
    s->timer_stop.request_stop(); // the sleep ends at once, unless it is over already
}

inline fork_driver deadline_timer(time_point at, deadline_state* s) {
    // The sleep's wake-up runs from the ready queue: by then an operation woken in the same
    // turn has completed, and the stop request below finds it done.
    auto slept = co_await sleep_until(at);
    if (slept && !s->op_done) {
        s->expired = true;
        s->fork.stop.request_stop();
    }
}

template <class T>
class [[nodiscard]] deadline_awaiter {
public:
    static_assert(!std::is_reference_v<T>, "with_timeout of an operation that gives a reference");
    using value_type = timed_t<T>;

    deadline_awaiter(std::variant<time_point, duration> when, task<T> op, int expiry_error)
        : when_(when), op_(std::move(op)), expiry_error_(expiry_error) {}
    // Movable until awaited (one combinator given to another, nested), not after.
    deadline_awaiter(deadline_awaiter&& o) noexcept
        : when_(o.when_), op_(std::move(o.op_)), expiry_error_(o.expiry_error_) {}
    deadline_awaiter& operator=(deadline_awaiter&&) = delete;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
        auto& sched = scheduler::current();
        const time_point at = std::holds_alternative<time_point>(when_)
                                  ? std::get<time_point>(when_)
                                  : sched.now() + std::get<duration>(when_);
        auto token = stop_token_of(parent);
        if (token.stop_possible()) parent_stop_.emplace(token, forward_stop{&s_.fork.stop});
        s_.fork.parent = parent;
        s_.fork.remaining = 3; // the two children and this call
        auto op = deadline_op(std::move(op_), &value_, &error_, &s_).handle;
        auto timer = deadline_timer(at, &s_).handle;
        op.promise().state = &s_.fork;
        op.promise().set_stop_token(s_.fork.stop.get_token());
        timer.promise().state = &s_.fork;
        timer.promise().set_stop_token(s_.timer_stop.get_token());
        op.resume(); // first: an operation done at once leaves no timer armed
        timer.resume();
        if (--s_.fork.remaining == 0) return false;
        s_.fork.parent_suspended = true;
        return true;
    }
    value_type await_resume() {
        parent_stop_.reset();
        if (error_) std::rethrow_exception(error_);
        if constexpr (is_result<T>::value) {
            if (s_.expired && !*value_ && value_->error() == ECANCELED) return error{expiry_error_};
            return std::move(*value_);
        } else {
            if (s_.expired) return error{expiry_error_};
            if constexpr (std::is_void_v<T>)
                return {};
            else
                return std::move(*value_);
        }
    }

private:
    struct forward_stop {
        std::stop_source* target;
        void operator()() const noexcept { target->request_stop(); }
    };

    std::variant<time_point, duration> when_;
    task<T> op_;
    int expiry_error_;
    deadline_state s_;
    std::optional<non_void_t<T>> value_;
    std::exception_ptr error_;
    std::optional<std::stop_callback<forward_stop>> parent_stop_;
};

// What an operation given to with_timeout gives when awaited.
template <class A>
struct awaited {
    using type = decltype(std::declval<A&>().await_resume());
};
template <class A>
    requires requires(A& a) { a.operator co_await(); }
struct awaited<A> {
    using type = decltype(std::declval<A&>().operator co_await().await_resume());
};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

template <class A>
auto await_in_task(A a) -> task<typename awaited<A>::type> {
    co_return co_await std::move(a);
}

// The operation as a task: a task itself, a coroutine lambda kept alive in its frame
// (as_task), or a movable awaitable moved into a task's frame.
template <class Op>
auto as_timed_task(Op&& op) {
    using D = std::remove_cvref_t<Op>;
    if constexpr (is_task<D>::value) {
        return std::forward<Op>(op);
    } else if constexpr (std::is_invocable_v<D&>) {
        return as_task(D(std::forward<Op>(op)));
    } else {
        static_assert(std::is_move_constructible_v<D>,
                      "with_timeout: a waiter that cannot move (sleep_for, a wait queue's wait) "
                      "must be awaited inside a task or a coroutine lambda given instead");
        return await_in_task(D(std::forward<Op>(op)));
    }
}

template <class Op>
using timed_task_t = decltype(as_timed_task(std::declval<Op>()));

} // namespace detail

// `op`: a task, a coroutine lambda, or a movable awaitable. `expiry_error`: what the
// deadline gives, when the caller must tell it from an ETIMEDOUT of the operation's own
// (a socket's receive timeout says EAGAIN, while a read's ETIMEDOUT means the connection
// timed out).
template <class Op>
[[nodiscard]] auto with_deadline(time_point deadline, Op&& op, int expiry_error = ETIMEDOUT) {
    using T = typename detail::timed_task_t<Op>::value_type;
    return detail::deadline_awaiter<T>(deadline, detail::as_timed_task(std::forward<Op>(op)), expiry_error);
}

template <class Op>
[[nodiscard]] auto with_timeout(duration timeout, Op&& op, int expiry_error = ETIMEDOUT) {
    using T = typename detail::timed_task_t<Op>::value_type;
    return detail::deadline_awaiter<T>(timeout, detail::as_timed_task(std::forward<Op>(op)), expiry_error);
}

} // namespace coronet
