#pragma once
// immediate<T>: the awaitable of a system call that finishes without waiting (close,
// bind, set_event...). Every system call is co_awaited the same way, whether it waits or
// not; this one never suspends, so it costs no more than a function call. Ordinary code
// that is not a coroutine can take the value with get().
#include <utility>

namespace coronet {

template <class T>
class [[nodiscard]] immediate {
public:
    explicit immediate(T value) : value_(std::move(value)) {}
    bool await_ready() const noexcept { return true; }
    void await_suspend(auto) const noexcept {}
    T await_resume() { return std::move(value_); }
    T get() && { return std::move(value_); }

private:
    T value_;
};

} // namespace coronet
