#include "drivers/shaper/shaper.hpp"

#include <stdexcept>

namespace coronet {

std::int64_t shaper::bucket_size(const shaper_config& c) {
    // Bit-nanoseconds fit an int64 up to a burst of 1 GiB and a rate of 2^63 bit/s.
    if (c.rate_bps == 0 || c.rate_bps > INT64_MAX || c.burst_bytes == 0 ||
        c.burst_bytes > 1U << 30U)
        throw std::invalid_argument("shaper: rate and burst must be positive (burst <= 1 GiB)");
    return cost(c.burst_bytes);
}

shaper::shaper(scheduler& s, counter_registry& registry, shaper_config config)
    : sched_(s), capacity_(bucket_size(config)), rate_(static_cast<std::int64_t>(config.rate_bps)),
      tokens_(capacity_), last_(s.now()), queue_limit_(config.queue_limit),
      stats_(registry, config.name) {}

void shaper::refill(time_point now) noexcept {
    const std::int64_t elapsed = (now - last_).count();
    last_ = now;
    if (elapsed <= 0 || tokens_ >= capacity_) return;
    // elapsed * rate_ could overflow after a long idle time: compare before multiplying.
    const std::int64_t missing = capacity_ - tokens_;
    if (elapsed >= (missing + rate_ - 1) / rate_)
        tokens_ = capacity_;
    else
        tokens_ += elapsed * rate_;
}

void shaper::take(std::size_t bytes) noexcept {
    tokens_ -= cost(bytes);
    ++stats_.frames_passed;
    stats_.bytes_passed += bytes;
}

result<> shaper::push(packet&& frame) {
    const time_point now = sched_.now();
    refill(now);
    if (fifo_.empty() && tokens_ >= needed(frame.length())) {
        take(frame.length());
        return forward(std::move(frame));
    }
    if (fifo_.size() >= queue_limit_) {
        ++stats_.dropped_queue_full;
        return error{ENOBUFS};
    }
    ++stats_.frames_delayed;
    fifo_.push_back(std::move(frame));
    if (!timer_.armed()) arm(now);
    return {};
}

void shaper::arm(time_point now) {
    const std::int64_t deficit = needed(fifo_.front().length()) - tokens_;
    const std::int64_t wait = deficit <= 0 ? 0 : (deficit + rate_ - 1) / rate_;
    sched_.timers().add(timer_, now + duration(wait));
}

void shaper::release() {
    const time_point now = sched_.now();
    refill(now);
    const bool was_full = fifo_.size() >= queue_limit_;
    while (!fifo_.empty() && tokens_ >= needed(fifo_.front().length())) {
        packet frame = std::move(fifo_.front());
        fifo_.pop_front();
        take(frame.length());
        (void)forward(std::move(frame)); // a refusal further on is counted there
    }
    if (was_full && fifo_.size() < queue_limit_ && space_ != nullptr) space_->wake_all();
    if (!fifo_.empty()) arm(now);
}

void shaper::flush() noexcept {
    const bool was_full = fifo_.size() >= queue_limit_;
    stats_.dropped_flushed += fifo_.size();
    fifo_.clear();
    timer_.cancel();
    if (was_full && space_ != nullptr) space_->wake_all();
}

} // namespace coronet
