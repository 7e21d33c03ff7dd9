#pragma once
// fault_stage: the wire's fault model (fault_model.hpp) as a frame_stage, for any NIC's
// transmit or receive path: the TAP driver gets loss, duplication, reordering, corruption,
// delay and jitter this way, since the kernel it runs on may have no netem.
//
//   fault_stage lossy(sched, registry, {.name = "tap0_faults", .faults = {.loss = 0.01}, .seed =
//   7}); tap.add_rx_stage(lossy);
//
// A lost frame is reported as sent (a lossy link does not tell the sender). A duplicate
// shares the original's buffers (no copy); a corrupted frame is a private copy from the
// frame's own pool, since its buffers may be shared and shared bytes are never written.
// Delayed frames wait in a bounded queue (ENOBUFS when it is full, counted here) and go on
// from a timer; what the next sink then says about them it counts itself.
#include "drivers/faults/delay_line.hpp"
#include "drivers/faults/fault_model.hpp"
#include "drivers/frame_sink.hpp"
#include "framework/counters.hpp"
#include "framework/scheduler.hpp"

#include <cstdint>
#include <string>

namespace coronet {

struct fault_stage_config {
    std::string name = "faults0"; // its counter group
    fault_config faults{};
    std::uint64_t seed = 1;
    std::uint32_t queue_limit = 1000; // delayed frames held at once
};

class fault_stage final : public frame_stage {
public:
    fault_stage(scheduler& s, counter_registry& registry, fault_stage_config config);

    result<> push(packet&& frame) override;

    fault_model& model() noexcept { return model_; }
    // Frames waiting for their delay to pass.
    std::size_t held() const noexcept { return held_.size(); }

    struct counters {
        counters(counter_registry& r, const std::string& name) : group(r, name) {}
        counter_group group;
        counter& frames = group.declare("frames");
        fault_counters faults{group};
        counter& delayed = group.declare("delayed");
        counter& dropped_queue_full = group.declare("dropped_queue_full");
        counter& dropped_no_buffer = group.declare("dropped_no_buffer"); // no copy or share
        counter& bytes_copied = group.declare("bytes_copied");           // corrupted copies
    };
    const counters& stats() const noexcept { return stats_; }

private:
    result<> send(packet&& frame, const fault_plan::delivery& d, time_point now);

    scheduler& sched_;
    std::uint32_t queue_limit_;
    counters stats_;
    fault_model model_;
    delay_line<packet> held_;
};

} // namespace coronet
