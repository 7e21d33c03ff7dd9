#pragma once
// A hierarchical timing wheel (Varghese & Lauck), as in the Linux kernel before 4.8:
// 8 levels of 64 slots over 1 microsecond ticks reach ~8.9 years; adding and cancelling
// a timer is O(1) (an intrusive list insert or unlink), and expiry is amortised O(1)
// (a timer moves down at most once per level). Timers keep their exact expiry in
// nanoseconds and fire only once the clock has reached it, so a virtual clock that jumps
// to next_expiry() sees each timer fire at exactly its time.
//
// Placement rule: a timer due at tick t sits at the lowest level k whose slot range holds
// both t and the current tick in one parent slot (t and now agree on every bit above
// level k); its slot is then always ahead of the current one, and when the current tick
// enters that slot the wheel moves ("cascades") its timers down a level.
#include "framework/clock.hpp"

#include <array>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <optional>

namespace coronet {

class timer_wheel;

// A timer is embedded in whoever waits (an awaiter, a TCB). It must outlive its
// registration; its destructor cancels it.
class timer_entry
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    using callback = void (*)(timer_entry*);
    timer_entry() = default;
    explicit timer_entry(callback fn) : fn_(fn) {}
    timer_entry(const timer_entry&) = delete;
    timer_entry& operator=(const timer_entry&) = delete;
    ~timer_entry() { cancel(); }

    bool armed() const noexcept { return is_linked(); }
    time_point expiry() const noexcept { return expiry_; }
    inline void cancel() noexcept;
    void set_callback(callback fn) noexcept { fn_ = fn; }

private:
    friend class timer_wheel;
    time_point expiry_{};
    callback fn_ = nullptr;
    timer_wheel* wheel_ = nullptr;
};

class timer_wheel {
    friend class timer_entry;
public:
    static constexpr int levels = 8;
    static constexpr int slot_bits = 6;
    static constexpr int slots = 1 << slot_bits;
    static constexpr std::int64_t tick_ns = 1000;

    explicit timer_wheel(time_point start);
    timer_wheel(const timer_wheel&) = delete;
    timer_wheel& operator=(const timer_wheel&) = delete;
    ~timer_wheel();

    // Arms (or re-arms) a timer to fire once the clock reaches `at`.
    void add(timer_entry& t, time_point at);
    // Fires every timer whose expiry is at or before `now`, in expiry order within a
    // tick. Callbacks may add and cancel timers. Returns how many fired.
    std::size_t advance(time_point now);
    // The exact expiry of the earliest armed timer, if any.
    std::optional<time_point> next_expiry();
    bool empty() const noexcept { return armed_ == 0; }
    std::size_t size() const noexcept { return armed_; }
    // A check cheap enough for every turn of the scheduler's loop.
    bool maybe_armed() const noexcept { return armed_ != 0; }

private:
    using list = boost::intrusive::list<timer_entry, boost::intrusive::constant_time_size<false>>;
    void place(timer_entry& t);
    void cascade(int level, int slot);
    std::optional<std::uint64_t> next_event_tick();
    std::uint64_t tick_of(time_point t) const;

    std::array<std::array<list, slots>, levels> wheel_;
    std::array<std::uint64_t, levels> occupied_{}; // bit per slot; may be stale-set after cancel
    list overflow_;                                // beyond the top level's reach
    std::uint64_t now_tick_;
    std::size_t armed_ = 0; // timers linked anywhere in the wheel
};

inline void timer_entry::cancel() noexcept {
    if (is_linked()) {
        unlink();
        --wheel_->armed_;
    }
}

} // namespace coronet
