#pragma once
// when_all(tasks...): runs the tasks concurrently and completes when all have finished,
// with a tuple of their values (void gives std::monostate); when_all(vector<task<T>>)
// gives a vector. If a task throws, the others are cancelled through their stop token,
// still awaited to the end, and then the first exception is rethrown: no task outlives
// the when_all. Cancelling the awaiting coroutine cancels every child.
#include "framework/fork.hpp"

#include <tuple>

namespace coronet {

namespace detail {

template <class... Ts>
class when_all_awaiter : fork_awaiter_base {
public:
    explicit when_all_awaiter(task<Ts>... ts) : fork_awaiter_base(sizeof...(Ts), false), tasks_(std::move(ts)...) {}
    bool await_ready() const noexcept { return sizeof...(Ts) == 0; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
        std::vector<fork_driver> drivers;
        drivers.reserve(sizeof...(Ts));
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (drivers.push_back(fork_child(std::move(std::get<I>(tasks_)), &std::get<I>(results_), &state_, I)), ...);
        }(std::index_sequence_for<Ts...>{});
        return start(parent, drivers);
    }
    std::tuple<non_void_t<Ts>...> await_resume() {
        finish();
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return std::tuple<non_void_t<Ts>...>(std::move(*std::get<I>(results_))...);
        }(std::index_sequence_for<Ts...>{});
    }

private:
    std::tuple<task<Ts>...> tasks_;
    std::tuple<std::optional<non_void_t<Ts>>...> results_;
};

template <class T>
class when_all_vector_awaiter : fork_awaiter_base {
public:
    explicit when_all_vector_awaiter(std::vector<task<T>> ts)
        : fork_awaiter_base(ts.size(), false), tasks_(std::move(ts)), results_(tasks_.size()) {}
    bool await_ready() const noexcept { return tasks_.empty(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
        std::vector<fork_driver> drivers;
        drivers.reserve(tasks_.size());
        for (std::size_t i = 0; i < tasks_.size(); ++i)
            drivers.push_back(fork_child(std::move(tasks_[i]), &results_[i], &state_, i));
        return start(parent, drivers);
    }
    std::vector<non_void_t<T>> await_resume() {
        finish();
        std::vector<non_void_t<T>> out;
        out.reserve(results_.size());
        for (auto& r : results_) out.push_back(std::move(*r));
        return out;
    }

private:
    std::vector<task<T>> tasks_;
    std::vector<std::optional<non_void_t<T>>> results_;
};

} // namespace detail

template <class... Ts>
[[nodiscard]] auto when_all(task<Ts>... ts) {
    return detail::when_all_awaiter<Ts...>(std::move(ts)...);
}

template <class T>
[[nodiscard]] auto when_all(std::vector<task<T>> ts) {
    return detail::when_all_vector_awaiter<T>(std::move(ts));
}

} // namespace coronet
