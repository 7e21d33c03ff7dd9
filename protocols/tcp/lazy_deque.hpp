#pragma once
// lazy_deque: a std::deque that exists only while it holds something.
//
// Why. libstdc++'s std::deque allocates its map and a first 512-byte node when constructed,
// empty or not. Every TCP socket has a send queue and (for a listener) an accept queue, and
// most of them are empty most of the time: 100,000 idle connections would hold 100 MB of
// empty deque nodes. This one is a pointer (8 bytes, nothing allocated) until the first
// push_back, and gives its storage back whenever it becomes empty again, so an idle socket
// holds nothing. Only what the TCP queues use is offered.
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <utility>

namespace coronet::tcp {

template <class T>
class lazy_deque {
    using storage = std::deque<T>;

public:
    using iterator = typename storage::iterator;
    using const_iterator = typename storage::const_iterator;

    bool empty() const noexcept { return !q_; } // never allocated while empty
    std::size_t size() const noexcept { return q_ ? q_->size() : 0; }
    T& front() noexcept { return q_->front(); }
    const T& front() const noexcept { return q_->front(); }
    T& back() noexcept { return q_->back(); }
    const T& back() const noexcept { return q_->back(); }
    // ENOMEM is not a value here: like std::deque, a failed allocation throws.
    void push_back(T&& v) {
        if (!q_) q_ = std::make_unique<storage>();
        q_->push_back(std::move(v));
    }
    void pop_front() noexcept {
        q_->pop_front();
        if (q_->empty()) q_.reset();
    }
    void clear() noexcept { q_.reset(); }
    // Iterators over the elements (an empty range while nothing is held).
    const_iterator begin() const noexcept { return q_ ? q_->cbegin() : const_iterator{}; }
    const_iterator end() const noexcept { return q_ ? q_->cend() : const_iterator{}; }
    iterator begin() noexcept { return q_ ? q_->begin() : iterator{}; }
    iterator end() noexcept { return q_ ? q_->end() : iterator{}; }

private:
    std::unique_ptr<storage> q_;
};

} // namespace coronet::tcp
