#pragma once
// Calling across shards (shard.hpp):
//   submit_to(shard, fn)  runs fn on that shard and gives its result back to the caller's
//                         shard: co_await submit_to(1, [] { return 42; }). fn may return a
//                         value, void, or a task (a coroutine lambda: its captures live until
//                         the task ends). An exception in fn is rethrown to the caller. On the
//                         caller's own shard fn runs at once.
//   try_post(shard, fn)   fire and forget: false, and fn dropped, when the destination's
//                         post room is full (never waits). fn() runs on that shard, later.
//   invoke_on_all(fn)     submit_to every shard at once; done when all are.
//   map_reduce(fn, init, reduce)  the results of fn on every shard, folded in shard order.
// fn and what it captures move to the other shard: they must not refer to objects of the
// caller's shard that the callee would touch (that is a data race; copy what it needs).
#include "framework/shard/shard.hpp"
#include "framework/task.hpp"
#include "framework/timeout.hpp"
#include "framework/when_all.hpp"

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace coronet {
namespace detail {

// What submit_to(fn) gives: fn's result, or what its task gives.
template <class T>
struct task_value;
template <class T>
struct task_value<task<T>> {
    using type = T;
};
template <class F>
using call_result_t =
    typename std::conditional_t<is_task<std::invoke_result_t<F&>>::value,
                                task_value<std::invoke_result_t<F&>>,
                                std::type_identity<std::invoke_result_t<F&>>>::type;

// One submit_to: travels to the destination (request), runs there, travels back (reply).
// Its fields other than the result are the caller's shard's alone.
template <class T>
class shard_call : public shard_message {
public:
    shard_call(unsigned origin, unsigned destination) noexcept
        : origin_(origin), destination_(destination) {}

    void deliver(shard& here) override {
        if (!replied_) {
            run_here(here);
            return;
        }
        here.release_call_slot(destination_);
        back_ = true;
        if (orphaned_) {
            delete this;
            return;
        }
        here.sched().schedule(node_);
    }

    // --- the caller's side (call_awaiter) ---
    ready_node node_;
    bool back_ = false;     // the reply was handled
    bool orphaned_ = false; // the caller's frame is gone: the reply frees the call
    bool resumed_ = false;
    std::optional<non_void_t<T>> value_;
    std::exception_ptr error_;
    unsigned destination() const noexcept { return destination_; }

protected:
    virtual void run_here(shard& here) = 0;
    // On the destination, once the result or the error is set.
    void reply(shard& here) noexcept {
        replied_ = true;
        here.send(origin_, this); // the ring publishes the result with it
    }

private:
    unsigned origin_;
    unsigned destination_;
    bool replied_ = false;
};

template <class F, class T>
class shard_call_of final : public shard_call<T> {
public:
    shard_call_of(F fn, unsigned origin, unsigned destination)
        : shard_call<T>(origin, destination), fn_(std::move(fn)) {}

private:
    void run_here(shard& here) override {
        if constexpr (is_task<std::invoke_result_t<F&>>::value) {
            drive(this, fn_(), here).handle.resume();
        } else {
            try {
                if constexpr (std::is_void_v<T>) {
                    fn_();
                    this->value_.emplace();
                } else {
                    this->value_.emplace(fn_());
                }
            } catch (...) {
                this->error_ = std::current_exception();
            }
            this->reply(here);
        }
    }
    static driver drive(shard_call_of* self, task<T> t, shard& here) {
        try {
            if constexpr (std::is_void_v<T>) {
                co_await std::move(t);
                self->value_.emplace();
            } else {
                self->value_.emplace(co_await std::move(t));
            }
        } catch (...) {
            self->error_ = std::current_exception();
        }
        self->reply(here);
    }
    F fn_;
};

// Suspends the caller until its call comes back; if the caller's frame is destroyed first,
// the call is left to free itself when it does.
template <class T>
class call_awaiter {
public:
    call_awaiter(shard_call<T>* c, shard& here) noexcept : call_(c), here_(here) {}
    call_awaiter(const call_awaiter&) = delete;
    call_awaiter& operator=(const call_awaiter&) = delete;
    ~call_awaiter() {
        if (!call_->back_) {
            call_->orphaned_ = true;
            return;
        }
        if (!call_->resumed_) here_.sched().unschedule(call_->node_);
        delete call_;
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        call_->node_.handle = h;
        here_.send(call_->destination(), call_);
    }
    T await_resume() {
        call_->resumed_ = true;
        if (call_->error_) std::rethrow_exception(call_->error_);
        if constexpr (!std::is_void_v<T>) return std::move(*call_->value_);
    }

private:
    shard_call<T>* call_;
    shard& here_;
};

template <class F>
class shard_post final : public shard_message {
public:
    explicit shard_post(F fn) : fn_(std::move(fn)) {}
    void deliver(shard&) override {
        fn_();
        delete this;
    }

private:
    F fn_;
};

inline void check_shard(const shard& here, unsigned to) {
    if (to >= here.count()) throw std::out_of_range("coronet: no shard " + std::to_string(to));
}

} // namespace detail

template <class F>
auto submit_to(unsigned to, F fn) -> task<detail::call_result_t<F>> {
    using T = detail::call_result_t<F>;
    shard& here = shard::current();
    detail::check_shard(here, to);
    if (to == here.id()) {
        if constexpr (detail::is_task<std::invoke_result_t<F&>>::value)
            co_return co_await fn();
        else
            co_return fn();
    }
    co_await here.acquire_call_slot(to);
    auto* call = new detail::shard_call_of<F, T>(std::move(fn), here.id(), to);
    co_return co_await detail::call_awaiter<T>(call, here);
}

template <class F>
bool try_post(unsigned to, F fn) {
    shard& here = shard::current();
    detail::check_shard(here, to);
    auto* m = new detail::shard_post<F>(std::move(fn));
    if (here.post(to, m)) return true;
    delete m;
    return false;
}

namespace detail {
// One submit_to(fn) per shard, in shard order: what invoke_on_all and map_reduce await.
template <class F>
std::vector<task<call_result_t<F>>> calls_to_all(const F& fn) {
    std::vector<task<call_result_t<F>>> calls;
    const unsigned n = shard::current().count();
    calls.reserve(n);
    for (unsigned i = 0; i < n; ++i)
        calls.push_back(submit_to(i, fn));
    return calls;
}
} // namespace detail

template <class F>
task<void> invoke_on_all(F fn) {
    co_await when_all(detail::calls_to_all(fn));
}

template <class F, class T, class Reduce>
task<T> map_reduce(F fn, T init, Reduce reduce) {
    auto results = co_await when_all(detail::calls_to_all(fn));
    for (auto& r : results)
        init = reduce(std::move(init), std::move(r));
    co_return init;
}

} // namespace coronet
