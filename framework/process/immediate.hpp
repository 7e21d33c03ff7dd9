#pragma once
// immediate<R>: the awaitable of a system call that finishes without waiting (close,
// bind, listen, set_event...). Every system call can be co_awaited the same way, whether
// it waits or not; this one never suspends, so it costs no more than a function call.
//
// It is also the call's result itself (it derives from R, a result<T>), so code that is
// not a coroutine reads a synchronous call as a call: `auto ls = p.listen(ep).value();`,
// `if (!p.bind(h, ep)) ...`, `result<handle> s = p.socket(socket_type::stream);`.
// get() (the result by value) stays for code written before.
#include <utility>

namespace coronet {

template <class R>
class [[nodiscard]] immediate : public R {
public:
    explicit immediate(R value) : R(std::move(value)) {}
    bool await_ready() const noexcept { return true; }
    void await_suspend(auto) const noexcept {}
    R await_resume() { return std::move(static_cast<R&>(*this)); }
    R get() && { return std::move(static_cast<R&>(*this)); }
};

} // namespace coronet
