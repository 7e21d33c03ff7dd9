#pragma once
// The machinery shared by when_all and when_any: each child task runs in a small driver
// coroutine with a stop token of the combinator's own (linked to the awaiting coroutine's
// token); the parent is suspended until every child has ended, and the last child to end
// transfers control straight back to it.
#include "framework/scheduler.hpp"

#include <optional>
#include <stop_token>
#include <vector>

namespace coronet {

namespace detail {

// Shared by the children of one combinator: how many still run, the stop source that
// cancels them, who to resume at the end, and the first exception.
struct fork_state {
    static constexpr std::size_t none = ~std::size_t{0};
    explicit fork_state(bool first_wins_) noexcept : first_wins(first_wins_) {}

    const bool first_wins;       // when_any: the first child to finish decides
    std::size_t winner = none;
    std::size_t remaining = 0;
    std::stop_source stop;
    std::coroutine_handle<> parent;
    std::exception_ptr error;
    bool parent_suspended = false;

    // A child ended, with an exception or not. when_all keeps the first exception and
    // cancels the rest; when_any lets the first child to end win and cancels the rest
    // (the losers' exceptions, if any, are dropped: they were asked to stop).
    void finished(std::size_t index, std::exception_ptr e) noexcept {
        if (first_wins) {
            if (winner != none) return;
            winner = index;
            error = std::move(e);
            stop.request_stop();
        } else if (e) {
            if (!error) error = std::move(e);
            stop.request_stop();
        }
    }

    // A child finished: returns the coroutine to transfer to (the parent when last).
    std::coroutine_handle<> child_done() noexcept {
        if (--remaining == 0 && parent_suspended) return parent;
        return std::noop_coroutine();
    }
};

// A driver whose final step hands control to the parent when it was the last child.
struct fork_driver {
    struct promise_type : promise_base {
        fork_state* state = nullptr;
        fork_driver get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct final_awaiter {
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                fork_state* s = h.promise().state;
                h.destroy();
                return s->child_done();
            }
            void await_resume() noexcept {}
        };
        final_awaiter final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

// Runs one child and stores its value in *out (a std::optional, or a variant with `index`
// as the alternative when Out is a variant).
template <class T, class Out>
fork_driver fork_child(task<T> t, Out* out, fork_state* state, std::size_t index) {
    std::exception_ptr e;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            out->emplace();
        } else {
            out->emplace(co_await std::move(t));
        }
    } catch (...) {
        e = std::current_exception();
    }
    state->finished(index, std::move(e));
}

// Starts the children given as drivers, each with the state's token, then suspends the
// parent unless all finished at once. The parent's own stop token is forwarded.
class fork_awaiter_base {
public:
    fork_awaiter_base(std::size_t n, bool first_wins) : state_(first_wins) { state_.remaining = n + 1; }

protected:
    struct forward_stop {
        std::stop_source* target;
        void operator()() const noexcept { target->request_stop(); }
    };

    template <class P>
    bool start(std::coroutine_handle<P> parent, std::vector<fork_driver>& drivers) {
        auto token = stop_token_of(parent);
        if (token.stop_possible()) parent_stop_.emplace(token, forward_stop{&state_.stop});
        state_.parent = parent;
        for (auto& d : drivers) {
            d.handle.promise().state = &state_;
            d.handle.promise().set_stop_token(state_.stop.get_token());
            d.handle.resume();
        }
        if (--state_.remaining == 0) return false;
        state_.parent_suspended = true;
        return true;
    }
    void finish() {
        parent_stop_.reset();
        if (state_.error) std::rethrow_exception(state_.error);
    }

    fork_state state_;
    std::optional<std::stop_callback<forward_stop>> parent_stop_;
};

} // namespace detail

} // namespace coronet
