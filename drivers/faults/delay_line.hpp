#pragma once
// delay_line<Item>: items held until their own time, then handed to a handler in time order
// (ties in the order they were pushed), all on one scheduler timer. The wire keeps its frames
// in flight in one, fault_stage its delayed frames. A binary heap rather than a timer per
// item: one timer_entry, no allocation per item once the heap has grown, and an exact order
// for items due at the same nanosecond, which a replayed seed relies on.
// Most items come in time order (a wire of constant latency delivers frames in the order they
// left), so an item due no earlier than the last one queued goes to a FIFO instead, O(1) and
// without moving frames through heap sifts; run() takes the earlier of the two fronts, ties
// by push order, so the order is exactly the heap's.
//
// The handler runs from the timer (before DPCs and user work in that scheduler turn) and may
// push new items. Destroying the line drops what it still holds.
#include "framework/scheduler.hpp"
#include "framework/timer_wheel.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

namespace coronet {

template <class Item>
class delay_line {
public:
    using handler = std::function<void(Item&&)>;

    delay_line(scheduler& s, handler h) : sched_(s), handler_(std::move(h)) {}
    delay_line(const delay_line&) = delete;
    delay_line& operator=(const delay_line&) = delete;

    void push(time_point at, Item&& item) {
        if (fifo_.empty() || at >= fifo_.back().at) {
            fifo_.push_back(entry{at, seq_++, std::move(item)});
        } else {
            heap_.push_back(entry{at, seq_++, std::move(item)});
            std::push_heap(heap_.begin(), heap_.end(), later);
        }
        if (!timer_.armed() || at < timer_.expiry()) sched_.timers().add(timer_, at);
    }
    std::size_t size() const noexcept { return heap_.size() + fifo_.size(); }
    bool empty() const noexcept { return heap_.empty() && fifo_.empty(); }
    // Drops every item now (the handler is not called).
    void clear() noexcept {
        timer_.cancel();
        heap_.clear();
        fifo_.clear();
    }

private:
    struct entry {
        time_point at;
        std::uint64_t seq;
        Item item;
    };
    // std::push_heap builds a max-heap: the "largest" is the earliest.
    static bool later(const entry& a, const entry& b) noexcept {
        return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
    struct hook : timer_entry {
        delay_line* owner;
        explicit hook(delay_line* d) : timer_entry(&fire), owner(d) {}
    };
    static void fire(timer_entry* t) { static_cast<hook*>(t)->owner->run(); }

    // The earliest item of the two (nullptr when both are empty); true in `from_fifo` if it
    // is the FIFO's.
    const entry* earliest(bool& from_fifo) const noexcept {
        const entry* f = fifo_.empty() ? nullptr : &fifo_.front();
        const entry* h = heap_.empty() ? nullptr : &heap_.front();
        from_fifo = f != nullptr && (h == nullptr || later(*h, *f));
        return from_fifo ? f : h;
    }

    void run() {
        const time_point now = sched_.now();
        bool from_fifo = false;
        for (const entry* e = earliest(from_fifo); e != nullptr && e->at <= now;
             e = earliest(from_fifo)) {
            Item item;
            if (from_fifo) {
                item = std::move(fifo_.front().item);
                fifo_.pop_front();
            } else {
                std::pop_heap(heap_.begin(), heap_.end(), later);
                item = std::move(heap_.back().item);
                heap_.pop_back();
            }
            handler_(std::move(item));
        }
        const entry* next = earliest(from_fifo);
        if (next != nullptr && (!timer_.armed() || next->at < timer_.expiry()))
            sched_.timers().add(timer_, next->at);
    }

    scheduler& sched_;
    handler handler_;
    std::vector<entry> heap_;
    std::deque<entry> fifo_; // in time order, ties in push order
    std::uint64_t seq_ = 0;
    hook timer_{this};
};

} // namespace coronet
