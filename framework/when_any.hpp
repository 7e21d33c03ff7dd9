#pragma once
// when_any(tasks...): runs the tasks concurrently; the first to end wins. The others are
// cancelled through their stop token and awaited to their end before when_any completes,
// so no loser outlives it and no buffer of theirs is still in the kernel's hands.
// Variadic form: a std::variant whose index() is the winner; vector form: the winner's
// index and value. If the winner ended with an exception it is rethrown.
#include "framework/fork.hpp"

#include <tuple>
#include <utility>
#include <variant>

namespace coronet {

namespace detail {

template <class... Ts>
class when_any_awaiter : fork_awaiter_base {
public:
    using value_type = std::variant<non_void_t<Ts>...>;
    explicit when_any_awaiter(task<Ts>... ts) : fork_awaiter_base(sizeof...(Ts), true), tasks_(std::move(ts)...) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
        std::vector<fork_driver> drivers;
        drivers.reserve(sizeof...(Ts));
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (drivers.push_back(fork_child(std::move(std::get<I>(tasks_)), &std::get<I>(results_), &state_, I)), ...);
        }(std::index_sequence_for<Ts...>{});
        return start(parent, drivers);
    }
    value_type await_resume() {
        finish();
        std::optional<value_type> out;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((state_.winner == I ? (out.emplace(std::in_place_index<I>, std::move(*std::get<I>(results_))), 0) : 0), ...);
        }(std::index_sequence_for<Ts...>{});
        return std::move(*out);
    }

private:
    std::tuple<task<Ts>...> tasks_;
    std::tuple<std::optional<non_void_t<Ts>>...> results_;
};

template <class T>
class when_any_vector_awaiter : fork_awaiter_base {
public:
    explicit when_any_vector_awaiter(std::vector<task<T>> ts)
        : fork_awaiter_base(ts.size(), true), tasks_(std::move(ts)), results_(tasks_.size()) {
        if (tasks_.empty()) throw std::invalid_argument("when_any of no task never completes");
    }
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
        std::vector<fork_driver> drivers;
        drivers.reserve(tasks_.size());
        for (std::size_t i = 0; i < tasks_.size(); ++i)
            drivers.push_back(fork_child(std::move(tasks_[i]), &results_[i], &state_, i));
        return start(parent, drivers);
    }
    std::pair<std::size_t, non_void_t<T>> await_resume() {
        finish();
        return {state_.winner, std::move(*results_[state_.winner])};
    }

private:
    std::vector<task<T>> tasks_;
    std::vector<std::optional<non_void_t<T>>> results_;
};

} // namespace detail

template <class... Ts>
[[nodiscard]] auto when_any(task<Ts>... ts) {
    static_assert(sizeof...(Ts) > 0, "when_any of no task never completes");
    return detail::when_any_awaiter<Ts...>(std::move(ts)...);
}

template <class T>
[[nodiscard]] auto when_any(std::vector<task<T>> ts) {
    return detail::when_any_vector_awaiter<T>(std::move(ts));
}

} // namespace coronet
