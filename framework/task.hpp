#pragma once
// task<T>: a lazy coroutine. Nothing runs until the task is co_awaited (or handed to
// sync_wait, when_all, a scope...). Guarantees:
// - Symmetric transfer: when the task ends, its final awaiter hands control straight to
//   the awaiting coroutine.
// - No stack growth for synchronous completion: the awaiter starts the child from
//   await_suspend and, if the child finishes before returning, await_suspend returns false
//   so the parent continues in the same frame. A loop of a million awaits of tasks that
//   complete at once therefore uses constant stack, at every optimisation level and under
//   ASan, without relying on the compiler turning resumes into tail calls.
// - An exception thrown in the task reaches its awaiter from co_await.
// - Destroying a task that never started is safe: it destroys the suspended frame.
// - The awaiting coroutine's stop token flows into the child (see promise_base), so
//   cancelling an outer operation reaches the innermost awaitable.
// - Misuse is an exception, not undefined behaviour: co_await on an empty task (default-
//   constructed, moved from or released) throws std::logic_error instead of dereferencing
//   a null frame, and so does awaiting a task a second time, whether it already gave its
//   value or is still running for its first awaiter. Both checks are a test of a pointer
//   or a flag the awaiter reads anyway, so they are on in every build.
#include "framework/frame_allocator.hpp"

#include <coroutine>
#include <exception>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <variant>

namespace coronet {

// What every coronet coroutine promise carries: its stop token (inherited from whoever
// awaits it unless set explicitly) and recycled frame allocation.
class promise_base {
public:
    static void* operator new(std::size_t size) { return detail::frame_allocator::allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept {
        detail::frame_allocator::deallocate(p, size);
    }

    const std::stop_token& stop_token() const noexcept { return token_; }
    void set_stop_token(std::stop_token t) noexcept { token_ = std::move(t); }

private:
    std::stop_token token_;
};

// The stop token of the coroutine whose handle is h, or an empty token if its promise is
// not a coronet one. Awaitables call this from await_suspend.
template <class Promise>
std::stop_token stop_token_of(std::coroutine_handle<Promise> h) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>)
        return h.promise().stop_token();
    else
        return {};
}

template <class T = void>
class task;

namespace detail {

class task_promise_base : public promise_base {
public:
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            auto& p = h.promise();
            if (p.inline_start_) {
                // Still inside the parent's await_suspend: tell it we are done and
                // return to it through the resume() call that started us.
                p.completed_inline_ = true;
                return std::noop_coroutine();
            }
            return p.continuation_;
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    // Called before the value is handed out: once only.
    void claim() {
        if (taken_)
            throw std::logic_error(
                "coronet: a task was awaited twice (its value was already taken)");
        taken_ = true;
        if (exception_) std::rethrow_exception(exception_);
    }

    std::coroutine_handle<> continuation_;
    std::exception_ptr exception_;
    bool inline_start_ = false;
    bool completed_inline_ = false;
    bool taken_ = false;
};

template <class T>
class task_promise final : public task_promise_base {
public:
    task<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.template emplace<1>(std::forward<U>(v));
    }
    T take() {
        claim();
        return std::move(std::get<1>(value_));
    }

private:
    std::variant<std::monostate, T> value_;
};

template <>
class task_promise<void> final : public task_promise_base {
public:
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() { claim(); }
};

template <class T>
class task_promise<T&> final : public task_promise_base {
public:
    task<T&> get_return_object() noexcept;
    void return_value(T& v) noexcept { value_ = &v; }
    T& take() {
        claim();
        return *value_;
    }

private:
    T* value_ = nullptr;
};

} // namespace detail

template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    bool valid() const noexcept { return static_cast<bool>(h_); }
    bool done() const noexcept { return h_ && h_.done(); }
    std::coroutine_handle<promise_type> handle() const noexcept { return h_; }
    // Runs the task under `token` instead of the awaiting coroutine's: cancelling its
    // source cancels whatever the task waits on.
    task&& with_stop_token(std::stop_token token) && noexcept {
        if (h_) h_.promise().set_stop_token(std::move(token));
        return std::move(*this);
    }
    // Gives up ownership of the frame (a combinator or a scope then owns it).
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }

    struct awaiter {
        std::coroutine_handle<promise_type> child;

        bool await_ready() const {
            if (!child) [[unlikely]]
                throw std::logic_error("coronet: co_await on an empty task (default-constructed, "
                                       "moved from or released)");
            return child.done();
        }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> parent) {
            auto& p = child.promise();
            if (p.continuation_) [[unlikely]] // started by an earlier co_await, still running
                throw std::logic_error("coronet: a task was awaited twice (it is still running for "
                                       "its first awaiter)");
            if constexpr (std::is_base_of_v<promise_base, P>) {
                if (!p.stop_token().stop_possible()) p.set_stop_token(parent.promise().stop_token());
            }
            p.continuation_ = parent;
            p.inline_start_ = true;
            p.completed_inline_ = false;
            child.resume();
            p.inline_start_ = false;
            return !p.completed_inline_; // finished already: continue without suspending
        }
        decltype(auto) await_resume() { return child.promise().take(); }
    };
    awaiter operator co_await() && noexcept { return awaiter{h_}; }
    awaiter operator co_await() & noexcept { return awaiter{h_}; }

private:
    void destroy() noexcept {
        if (h_) h_.destroy();
        h_ = {};
    }
    std::coroutine_handle<promise_type> h_;
};

// Turns a coroutine lambda into a task that owns the lambda. A lambda's captures live in
// its closure object, not in the coroutine frame, so `[&]() -> task<> {...}()` stored for
// later reads a destroyed closure once the statement ends; as_task([&]() -> task<> {...})
// keeps the closure inside the task's own frame for as long as the task lives.
template <class F>
auto as_task(F f) -> task<typename std::invoke_result_t<F&>::value_type> {
    co_return co_await f();
}

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
} // namespace detail

// How combinators store what a task<T> gives: void as std::monostate, a reference as a
// std::reference_wrapper, anything else as itself.
template <class T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate,
                                      std::conditional_t<std::is_reference_v<T>,
                                                         std::reference_wrapper<std::remove_reference_t<T>>, T>>;

} // namespace coronet
