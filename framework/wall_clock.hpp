#pragma once
// wall_clock: the time of day, for what a server shows or stamps (an HTTP Date header, a log
// line, a certificate's validity), never for timers: timers and TCP run on the scheduler's
// monotonic clock (clock.hpp), which no step moves, as Linux's CLOCK_MONOTONIC against
// CLOCK_REALTIME. A process reads it with process::wall_time(), through its stack.
//
// Two kinds: the system's (a real run), and offset_wall_clock, a fixed start plus the
// scheduler's clock plus an offset that step() moves forward or back: in a simulation every
// host has one, so a test can step one host's clock (an NTP correction, a wrong RTC after a
// reboot) and see what its server does, while virtual time and every timer go on as before.
#include "framework/clock.hpp"

#include <chrono>

namespace coronet {

class wall_clock {
public:
    virtual ~wall_clock() = default;
    virtual std::chrono::system_clock::time_point now() const noexcept = 0;
};

class system_wall_clock final : public wall_clock {
public:
    std::chrono::system_clock::time_point now() const noexcept override {
        return std::chrono::system_clock::now();
    }
    static const system_wall_clock& instance() noexcept {
        static const system_wall_clock c;
        return c;
    }
};

class offset_wall_clock final : public wall_clock {
public:
    // 2026-01-01 00:00:00 UTC: a simulation's wall time starts here at virtual time zero, so a
    // seed gives the same dates every run.
    static constexpr std::chrono::system_clock::time_point default_start{
        std::chrono::seconds(1'767'225'600)};

    // `base` (a scheduler's clock) must outlive this clock.
    explicit offset_wall_clock(const clock_source& base,
                               std::chrono::system_clock::time_point start = default_start)
        : base_(base), start_(start) {}

    std::chrono::system_clock::time_point now() const noexcept override {
        return start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            base_.now().since_epoch + offset_);
    }
    // Moves the time of day by `d` (negative: back) from now on; the base clock is untouched.
    void step(duration d) noexcept { offset_ += d; }
    duration offset() const noexcept { return offset_; }

private:
    const clock_source& base_;
    std::chrono::system_clock::time_point start_;
    duration offset_{0};
};

} // namespace coronet
