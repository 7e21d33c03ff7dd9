#include "drivers/faults/fault_model.hpp"

namespace coronet {

duration fault_model::jitter() noexcept {
    if (config_.jitter <= duration::zero()) return duration::zero();
    const auto span = static_cast<std::uint64_t>(config_.jitter.count()) + 1;
    return duration(static_cast<duration::rep>(rng_.below(span)));
}

fault_plan fault_model::decide(std::size_t length) {
    fault_plan plan;
    if (config_.truncate != 0 && length > std::size_t{config_.truncate} + ethernet_header_bytes) {
        ++counters_.truncated;
        plan.truncate_to = std::size_t{config_.truncate} + ethernet_header_bytes;
        length = plan.truncate_to; // a corrupted byte falls in what is left
    }
    if (chance(config_.loss)) {
        ++counters_.lost;
        plan.count = 0;
        return plan;
    }
    if (chance(config_.duplicate)) {
        ++counters_.duplicated;
        plan.count = 2;
    }
    for (unsigned i = 0; i < plan.count; ++i)
        plan.deliveries[i].delay = config_.delay + jitter();
    auto& first = plan.deliveries[0];
    if (chance(config_.reorder)) {
        ++counters_.reordered;
        first.reordered = true;
        first.delay += config_.reorder_delay;
    }
    if (length > 0 && chance(config_.corrupt)) {
        ++counters_.corrupted;
        corruption c;
        c.offset = static_cast<std::size_t>(rng_.below(length));
        c.mask = static_cast<std::byte>(1 + rng_.below(255));
        first.corrupt = c;
    }
    return plan;
}

} // namespace coronet
