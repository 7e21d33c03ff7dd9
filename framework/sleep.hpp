#pragma once
// co_await sleep_for(d) / sleep_until(t): suspends until the scheduler's clock reaches the
// deadline. Returns result<void>: ECANCELED if the awaiting coroutine's stop token fires
// first (the timer is disarmed at once).
#include "framework/result.hpp"
#include "framework/waiter.hpp"

namespace coronet {

class sleep_awaiter : public waiter, public timer_entry {
public:
    explicit sleep_awaiter(time_point deadline) noexcept
        : waiter(&on_cancel), timer_entry(&on_fire), deadline_(deadline) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        if (!begin(h)) return false;
        scheduler::current().timers().add(*this, deadline_);
        return true;
    }
    result<> await_resume() noexcept {
        int r = end();
        return r ? result<>{error{r}} : result<>{};
    }

private:
    static void on_fire(timer_entry* t) { static_cast<sleep_awaiter&>(*t).complete(0); }
    static void on_cancel(waiter* w) {
        auto& self = static_cast<sleep_awaiter&>(*w);
        self.timer_entry::cancel();
        self.complete(ECANCELED);
    }

    time_point deadline_;
};

inline sleep_awaiter sleep_until(time_point deadline) { return sleep_awaiter{deadline}; }
inline sleep_awaiter sleep_for(duration d) { return sleep_awaiter{scheduler::current().now() + d}; }

} // namespace coronet
