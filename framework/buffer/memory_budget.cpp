#include "framework/buffer/memory_budget.hpp"

#include <algorithm>
#include <stdexcept>

namespace coronet {

memory_limits memory_limits::from_pool(std::uint32_t buffers, std::uint32_t reserve) noexcept {
    const std::uint32_t usable = buffers > reserve ? buffers - reserve : 0;
    memory_limits l;
    l.hard = usable / 4 * 3;
    l.pressure = usable / 2;
    l.low = usable / 8 * 3;
    return l;
}

memory_budget::memory_budget(counter_registry& registry, memory_limits limits)
    : limits_(limits), group_(registry, "memory"),
      held_{&group_.declare("tcp_send_buffers", counter_kind::gauge),
            &group_.declare("tcp_receive_buffers", counter_kind::gauge),
            &group_.declare("tcp_out_of_order_buffers", counter_kind::gauge),
            &group_.declare("udp_receive_buffers", counter_kind::gauge),
            &group_.declare("ipv4_reassembly_buffers", counter_kind::gauge),
            &group_.declare("arp_pending_buffers", counter_kind::gauge)},
      total_gauge_(group_.declare("queued_buffers", counter_kind::gauge)),
      pressure_entered_(group_.declare("pressure_entered")),
      pressure_refusals_(group_.declare("pressure_refusals")),
      hard_refusals_(group_.declare("hard_refusals")) {
    if (!(limits.low <= limits.pressure && limits.pressure <= limits.hard))
        throw std::invalid_argument("memory_budget: limits must be low <= pressure <= hard");
}

std::uint32_t memory_budget::fair_share() const noexcept {
    return std::max(limits_.floor, limits_.pressure / std::max(users_, 1u));
}

bool memory_budget::may_grow(queue_kind, std::uint32_t held, std::uint32_t more) noexcept {
    if (held + more <= limits_.floor) return true;
    if (total_ + more > limits_.hard) {
        ++hard_refusals_;
        return false;
    }
    // A queue that holds nothing yet counts as one more user of the share it asks for.
    const std::uint32_t users = users_ + (held == 0 ? 1 : 0);
    if (pressure_ || total_ + more > limits_.pressure) {
        const auto share = std::max(limits_.floor, limits_.pressure / std::max(users, 1u));
        if (held + more > share) {
            ++pressure_refusals_;
            return false;
        }
    }
    return true;
}

std::uint32_t memory_budget::room(std::uint32_t held) const noexcept {
    const std::uint32_t floor_room = held < limits_.floor ? limits_.floor - held : 0;
    if (!pressure_ && total_ < limits_.pressure) return no_limit;
    const std::uint32_t users = users_ + (held == 0 ? 1 : 0);
    const auto share = std::max(limits_.floor, limits_.pressure / std::max(users, 1u));
    std::uint32_t r = share > held ? share - held : 0;
    r = std::min(r, total_ < limits_.hard ? limits_.hard - total_ : 0u);
    return std::max(r, floor_room);
}

void memory_budget::adjust(queue_kind kind, std::uint32_t from, std::uint32_t to) noexcept {
    total_ = total_ - from + to;
    if (from == 0 && to != 0) ++users_;
    if (from != 0 && to == 0) --users_;
    held_[index(kind)]->value = held_[index(kind)]->value - from + to;
    total_gauge_.value = total_;
    if (!pressure_ && total_ > limits_.pressure) {
        pressure_ = true;
        ++pressure_entered_;
    } else if (pressure_ && total_ <= limits_.low) {
        pressure_ = false;
    }
}

} // namespace coronet
