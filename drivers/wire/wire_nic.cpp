#include "drivers/wire/wire_nic.hpp"

#include "drivers/wire/wire.hpp"

namespace coronet {

wire_nic::wire_nic(wire& w, counter_registry& registry, nic_config config, buffer_pool& pool,
                   wire_nic_options options)
    : nic(w.sched_, registry, std::move(config)), wire_(&w), pool_(pool), options_(options),
      ring_(options.rx_ring_size) {}

result<> wire_nic::driver_transmit(packet&& frame) {
    if (wire_ == nullptr) return error{ENETDOWN};
    return wire_->transmit(*this, std::move(frame));
}

bool wire_nic::driver_poll(unsigned budget) {
    for (unsigned n = 0; n < budget && !ring_.empty(); ++n)
        deliver(ring_.pop());
    return !ring_.empty();
}

void wire_nic::receive(packet&& frame) {
    ring_.push(std::move(frame));
    raise_interrupt();
}

void wire_nic::serialised() {
    // Woken at half empty, not at the first free slot: a sender blocked on a full queue then
    // resumes with room for a burst, not for one frame at a time (drivers stop and wake
    // their queues with such a gap too).
    if (wire_ != nullptr && --tx_queued_ == wire_->config_.queue_limit / 2) tx_space_available();
}

} // namespace coronet
