#include "framework/timer_wheel.hpp"

#include <bit>

namespace coronet {

namespace {
constexpr int top_shift = timer_wheel::slot_bits * timer_wheel::levels; // 48 bits of ticks
}

timer_wheel::timer_wheel(time_point start) : now_tick_(0) { now_tick_ = tick_of(start); }

timer_wheel::~timer_wheel() {
    // Timers still armed outlive the wheel only unlinked: their cancel() then has nothing to do.
    for (auto& level : wheel_)
        for (auto& slot : level) slot.clear();
    overflow_.clear();
    armed_ = 0;
}

std::uint64_t timer_wheel::tick_of(time_point t) const {
    auto ns = t.since_epoch.count();
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / tick_ns);
}

void timer_wheel::add(timer_entry& t, time_point at) {
    t.cancel();
    t.expiry_ = at;
    t.wheel_ = this;
    place(t);
    ++armed_;
}

void timer_wheel::place(timer_entry& t) {
    std::uint64_t tick = tick_of(t.expiry_);
    if (tick < now_tick_) tick = now_tick_; // overdue: fire at the next advance
    for (int k = 0; k < levels; ++k) {
        int parent_shift = slot_bits * (k + 1);
        if ((tick >> parent_shift) == (now_tick_ >> parent_shift)) {
            int slot = static_cast<int>((tick >> (slot_bits * k)) & (slots - 1));
            wheel_[k][slot].push_back(t);
            occupied_[k] |= std::uint64_t{1} << slot;
            return;
        }
    }
    overflow_.push_back(t);
}

void timer_wheel::cascade(int level, int slot) {
    list moving;
    moving.splice(moving.end(), wheel_[level][slot]);
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    while (!moving.empty()) {
        timer_entry& t = moving.front();
        moving.pop_front();
        place(t);
    }
}

std::optional<std::uint64_t> timer_wheel::next_event_tick() {
    // Events at level k lie inside the current level-(k+1) slot and after the current
    // level-k slot, so they come before any event of a higher level: the first level
    // with one has the earliest.
    for (int k = 0; k < levels; ++k) {
        int shift = slot_bits * k;
        auto cur = static_cast<int>((now_tick_ >> shift) & (slots - 1));
        std::uint64_t mask = cur == slots - 1 ? 0 : occupied_[k] & (~std::uint64_t{0} << (cur + 1));
        while (mask) {
            int j = std::countr_zero(mask);
            mask &= mask - 1;
            if (wheel_[k][j].empty()) { // cancelled since: the bit was stale
                occupied_[k] &= ~(std::uint64_t{1} << j);
                continue;
            }
            int parent_shift = shift + slot_bits;
            return ((now_tick_ >> parent_shift) << parent_shift) + (std::uint64_t(j) << shift);
        }
    }
    if (!overflow_.empty()) return ((now_tick_ >> top_shift) + 1) << top_shift;
    return std::nullopt;
}

std::size_t timer_wheel::advance(time_point now) {
    std::size_t fired = 0;
    const std::uint64_t target = tick_of(now);
    for (;;) {
        // Fire what is due in the current tick's slot. Callbacks may add timers that
        // are due at once (they land in this same slot), so repeat until none fired.
        auto& current = wheel_[0][now_tick_ & (slots - 1)];
        for (bool again = true; again;) {
            again = false;
            list pass;
            pass.splice(pass.end(), current);
            while (!pass.empty()) {
                timer_entry& t = pass.front();
                pass.pop_front();
                if (t.expiry_ <= now) {
                    ++fired;
                    --armed_;
                    again = true;
                    t.fn_(&t);
                } else {
                    current.push_back(t);
                }
            }
        }
        if (current.empty()) occupied_[0] &= ~(std::uint64_t{1} << (now_tick_ & (slots - 1)));
        if (now_tick_ >= target) return fired;

        auto next = next_event_tick();
        if (!next || *next > target) {
            // Nothing happens between here and target: the invariant of every level holds
            // for the new current tick, so jump.
            now_tick_ = target;
            continue;
        }
        now_tick_ = *next;
        if ((now_tick_ & ((std::uint64_t{1} << top_shift) - 1)) == 0 && !overflow_.empty()) {
            list moving;
            moving.splice(moving.end(), overflow_);
            while (!moving.empty()) {
                timer_entry& t = moving.front();
                moving.pop_front();
                place(t);
            }
        }
        for (int k = levels - 1; k >= 1; --k) {
            int shift = slot_bits * k;
            if ((now_tick_ & ((std::uint64_t{1} << shift) - 1)) == 0)
                cascade(k, static_cast<int>((now_tick_ >> shift) & (slots - 1)));
        }
    }
}

std::optional<time_point> timer_wheel::next_expiry() {
    if (armed_ == 0) return std::nullopt;
    auto min_of = [](list& l) {
        time_point best = time_point::max();
        for (auto& t : l)
            if (t.expiry_ < best) best = t.expiry_;
        return best;
    };
    auto& current = wheel_[0][now_tick_ & (slots - 1)];
    if (!current.empty()) return min_of(current);
    auto next = next_event_tick();
    if (!next) return std::nullopt;
    if ((*next >> top_shift) != (now_tick_ >> top_shift)) return min_of(overflow_);
    // The event's slot: the lowest level whose slot holds the event tick.
    for (int k = 0; k < levels; ++k) {
        int shift = slot_bits * k;
        auto& slot = wheel_[k][(*next >> shift) & (slots - 1)];
        int parent_shift = shift + slot_bits;
        if ((*next >> parent_shift) == (now_tick_ >> parent_shift) && !slot.empty()) return min_of(slot);
    }
    return min_of(overflow_);
}


} // namespace coronet
