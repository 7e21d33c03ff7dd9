#include "framework/wake_relay.hpp"

namespace coronet {

// What the relay and its waiting frame know of each other.
struct wake_relay::state {
    wake_relay* owner;         // null once the relay is gone
    wait_queue::awaiter* wait; // the frame's wait: waiting() while still in the queue
    std::coroutine_handle<> frame;
};

namespace {

// A frame that starts at once, ends by itself and frees itself (no one awaits it).
struct relay_frame {
    struct promise_type : promise_base {
        relay_frame get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

relay_frame wait_once(wake_relay& owner, wait_queue& q, wake_relay::state*& out) {
    auto a = q.wait();
    wake_relay::state s{&owner, &a, {}};
    out = &s;
    const auto woken = co_await a;     // no stop token: only a wake ends it
    if (s.owner == nullptr) co_return; // the relay went away meanwhile
    s.owner->fire(woken.has_value());
}

} // namespace

void wake_relay::arm() {
    if (wait_ != nullptr) return;
    auto f = wait_once(*this, *queue_, wait_);
    wait_->frame = f.handle;
}

void wake_relay::fire(bool woken) {
    wait_ = nullptr; // disarmed first: the function may arm again
    if (!woken) return;
    ++fired_;
    fn_(context_);
}

wake_relay::~wake_relay() {
    if (wait_ == nullptr) return;
    wait_->owner = nullptr;
    // Still in the queue: destroying the frame unlinks its awaiter. Woken already: it sits in
    // the ready queue, where it may never run if the scheduler stops first (a leak), so it
    // is taken out before the frame goes.
    if (!wait_->wait->waiting()) wait_->wait->withdraw();
    wait_->frame.destroy();
}

} // namespace coronet
