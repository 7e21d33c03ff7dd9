#pragma once
// Clocks. Every timer in coronet reads a clock passed in, never the wall clock directly:
// real_clock for servers, virtual_clock for simulations, where the scheduler moves time
// forward itself (straight to the next timer when every task is waiting), so a test of a
// two-minute TCP timeout runs in microseconds and a seed gives the same trace every time.
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace coronet {

// Time in nanoseconds since the clock's epoch. One representation for both clocks.
using duration = std::chrono::nanoseconds;
struct time_point {
    duration since_epoch{0};
    friend auto operator<=>(time_point, time_point) = default;
    friend time_point operator+(time_point t, duration d) { return {t.since_epoch + d}; }
    friend time_point operator-(time_point t, duration d) { return {t.since_epoch - d}; }
    friend duration operator-(time_point a, time_point b) { return a.since_epoch - b.since_epoch; }
    static constexpr time_point max() { return {duration::max()}; }
};

class clock_source {
public:
    virtual ~clock_source() = default;
    virtual time_point now() const noexcept = 0;
    // True if the scheduler owns the passage of time (advance_to is allowed).
    virtual bool is_virtual() const noexcept = 0;
    // Moves a virtual clock forward; real clocks refuse.
    virtual void advance_to(time_point t) = 0;
};

class real_clock final : public clock_source {
public:
    time_point now() const noexcept override {
        return {std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch())};
    }
    bool is_virtual() const noexcept override { return false; }
    void advance_to(time_point) override { throw std::logic_error("a real clock cannot be advanced"); }
};

class virtual_clock final : public clock_source {
public:
    explicit virtual_clock(time_point start = {}) : now_(start) {}
    time_point now() const noexcept override { return now_; }
    bool is_virtual() const noexcept override { return true; }
    void advance_to(time_point t) override {
        if (t < now_) throw std::logic_error("virtual time cannot go backwards");
        now_ = t;
    }
    void advance(duration d) { advance_to(now_ + d); }

private:
    time_point now_;
};

} // namespace coronet
