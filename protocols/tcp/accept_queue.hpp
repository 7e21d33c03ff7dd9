#pragma once
// accept_queue: the connections of one listener that completed the handshake and wait for
// accept(), in a lazy_deque, counted in a gauge the layer shares among its listeners
// (tcp.accept_queue_connections), so the run-time view shows how many wait in all.
#include "framework/counters.hpp"
#include "protocols/tcp/lazy_deque.hpp"

#include <utility>

namespace coronet::tcp {

template <class T>
class accept_queue {
public:
    accept_queue() noexcept = default;
    accept_queue(const accept_queue&) = delete;
    accept_queue& operator=(const accept_queue&) = delete;
    ~accept_queue() { clear(); }

    // The gauge to keep, set while the queue is empty (listen()); nullptr stops counting,
    // when the gauge's owner goes before the queue (detach(), the layer's destructor).
    void count_in(counter* gauge) noexcept { gauge_ = gauge; }

    bool empty() const noexcept { return q_.empty(); }
    std::size_t size() const noexcept { return q_.size(); }
    void push_back(T&& v) {
        q_.push_back(std::move(v));
        if (gauge_ != nullptr) ++*gauge_;
    }
    T pop_front() noexcept {
        T v = std::move(q_.front());
        q_.pop_front();
        if (gauge_ != nullptr) --gauge_->value;
        return v;
    }
    // Touches the gauge only when it held something: a socket cut loose from its stack
    // (detach) is destroyed later, when the gauge may be gone.
    void clear() noexcept {
        if (gauge_ != nullptr && !q_.empty()) gauge_->value -= q_.size();
        q_.clear();
    }

private:
    lazy_deque<T> q_;
    counter* gauge_ = nullptr;
};

} // namespace coronet::tcp
