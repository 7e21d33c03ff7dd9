#include "drivers/faults/fault_stage.hpp"

#include "drivers/faults/frame_copy.hpp"

#include <span>

namespace coronet {

fault_stage::fault_stage(scheduler& s, counter_registry& registry, fault_stage_config config)
    : sched_(s), queue_limit_(config.queue_limit), stats_(registry, config.name),
      model_(config.faults, config.seed, stats_.faults),
      held_(s, [this](packet&& frame) { (void)forward(std::move(frame)); }) {}

result<> fault_stage::push(packet&& frame) {
    ++stats_.frames;
    const fault_plan plan = model_.decide(frame.length());
    if (plan.count == 0) return {};
    if (plan.truncate_to != 0) truncate_frame(frame, plan.truncate_to);
    const time_point now = sched_.now();
    if (plan.count == 2) {
        if (auto twin = frame.share())
            (void)send(std::move(*twin), plan.deliveries[1], now);
        else
            ++stats_.dropped_no_buffer;
    }
    return send(std::move(frame), plan.deliveries[0], now);
}

result<> fault_stage::send(packet&& frame, const fault_plan::delivery& d, time_point now) {
    if (d.corrupt && frame.pool() != nullptr) {
        const byte_patch patch = corruption_patch(frame, *d.corrupt);
        auto copy = copy_frame(frame, *frame.pool(), packet::default_headroom, stats_.bytes_copied,
                               std::span(&patch, 1));
        if (!copy) {
            ++stats_.dropped_no_buffer;
            return error{copy.error()};
        }
        copy->meta() = frame.meta();
        frame = std::move(*copy);
    }
    if (d.delay <= duration::zero()) return forward(std::move(frame));
    if (held_.size() >= queue_limit_) {
        ++stats_.dropped_queue_full;
        return error{ENOBUFS};
    }
    ++stats_.delayed;
    held_.push(now + d.delay, std::move(frame));
    return {};
}

} // namespace coronet
