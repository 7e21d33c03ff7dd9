#pragma once
// shaper: a token-bucket frame_stage for a NIC's transmit path (nic.add_tx_stage()).
//
//   shaper tbf(sched, registry, {.name = "eth0_tbf", .rate_bps = 10'000'000, .burst_bytes = 3028});
//   eth0.add_tx_stage(tbf);
//   tbf.wake_on_space(eth0.tx_ready());
//
// The bucket holds up to burst_bytes and fills at rate_bps; it starts full. A frame passes at
// once when nothing waits before it and the bucket holds the frame's length (a frame larger
// than the burst needs a full bucket, and leaves it in debt); otherwise it waits in a bounded
// FIFO and a timer releases it at the exact nanosecond the bucket has filled enough. A full
// FIFO refuses the frame with ENOBUFS (counted here: the NIC counts only its driver's
// refusals) and wakes the optional wait queue when it has room again. Tokens are kept in
// bit-nanoseconds (bits x 10^9), so that with integer arithmetic a rate of R bit/s adds
// exactly R per nanosecond: no rounding drift.
#include "drivers/frame_sink.hpp"
#include "framework/counters.hpp"
#include "framework/scheduler.hpp"
#include "framework/timer_wheel.hpp"
#include "framework/wait_queue.hpp"

#include <cstdint>
#include <deque>
#include <string>

namespace coronet {

struct shaper_config {
    std::string name = "shaper0"; // its counter group
    std::uint64_t rate_bps = 10'000'000;
    std::uint32_t burst_bytes = 1514;
    std::uint32_t queue_limit = 1000; // frames waiting for tokens
};

class shaper final : public frame_stage {
public:
    // A zero rate or burst is a configuration bug: std::invalid_argument.
    shaper(scheduler& s, counter_registry& registry, shaper_config config);
    ~shaper() override = default;

    result<> push(packet&& frame) override;

    // Woken (wake_all) when the FIFO had been full and has room again: give it the NIC's
    // tx_ready() so that a writer blocked on the NIC learns about it.
    void wake_on_space(wait_queue& q) noexcept { space_ = &q; }
    std::size_t queued() const noexcept { return fifo_.size(); }
    // Drops every waiting frame (counted in dropped_flushed): the host holding the queue
    // crashed. Wakes the wait queue if the FIFO had been full.
    void flush() noexcept;

    struct counters {
        counters(counter_registry& r, const std::string& name) : group(r, name) {}
        counter_group group;
        counter& frames_passed = group.declare("frames_passed");
        counter& bytes_passed = group.declare("bytes_passed");
        counter& frames_delayed = group.declare("frames_delayed"); // waited in the FIFO
        counter& dropped_queue_full = group.declare("dropped_queue_full");
        counter& dropped_flushed = group.declare("dropped_flushed");
    };
    const counters& stats() const noexcept { return stats_; }

private:
    static constexpr std::int64_t ns_per_s = 1'000'000'000;
    static std::int64_t cost(std::size_t bytes) noexcept {
        return static_cast<std::int64_t>(bytes) * 8 * ns_per_s;
    }
    // Tokens a frame needs before it may go (never more than a full bucket).
    std::int64_t needed(std::size_t bytes) const noexcept {
        const auto c = cost(bytes);
        return c < capacity_ ? c : capacity_;
    }
    void refill(time_point now) noexcept;
    static std::int64_t bucket_size(const shaper_config& c);
    // Spends the tokens of a frame of `bytes` that goes on.
    void take(std::size_t bytes) noexcept;
    void arm(time_point now);
    void release();

    struct hook : timer_entry {
        shaper* owner;
        explicit hook(shaper* s) : timer_entry(&fire), owner(s) {}
    };
    static void fire(timer_entry* t) { static_cast<hook*>(t)->owner->release(); }

    scheduler& sched_;
    std::int64_t capacity_; // bit-nanoseconds
    std::int64_t rate_;     // bit-nanoseconds gained per nanosecond, i.e. bits per second
    std::int64_t tokens_;   // may be negative after an oversized frame
    time_point last_;
    std::uint32_t queue_limit_;
    counters stats_;
    std::deque<packet> fifo_;
    wait_queue* space_ = nullptr;
    hook timer_{this};
};

} // namespace coronet
