#include "drivers/nic.hpp"

#include "framework/interrupt.hpp"

#include <algorithm>

namespace coronet {

nic::nic(scheduler& s, counter_registry& registry, nic_config config)
    : typed_object(), sched_(s), config_(std::move(config)), stats_(registry, config_.name),
      line_(s.interrupts().allocate(config_.name)) {
    // The DPC goes on the NIC's own scheduler, not the raiser's (connect_dpc's current one): in
    // a simulated shard group the wire, on shard 0, raises the line of a queue of another shard.
    s.interrupts()
        .connect(
            line_,
            [](void* self, unsigned) {
                auto* n = static_cast<nic*>(self);
                n->sched_.queue_dpc(n->dpc_);
            },
            this)
        .value();
}

nic::~nic() { sched_.interrupts().disconnect(line_); }

result<> nic::transmit(packet&& frame) {
    std::size_t limit = config_.mtu + ethernet_header_bytes;
    bool gso = frame.meta().offload.gso_type != packet_offload::gso_none;
    if (frame.length() > limit && !(gso && config_.features.tso && frame.length() <= config_.features.max_gso_bytes + ethernet_header_bytes)) {
        ++stats_.tx_dropped_too_big;
        return error{EMSGSIZE};
    }
    const std::uint32_t max_slices = config_.features.max_tx_slices;
    if (max_slices != 0 && frame.slice_count() > max_slices) {
        ++stats_.tx_dropped_too_many_slices;
        return error{EMSGSIZE};
    }
    ++stats_.tx_frames;
    stats_.tx_bytes += frame.length();
    if (!taps_.empty()) {
        auto now = sched_.now();
        for (auto* t : taps_) t->on_frame(frame_direction::tx, frame, now);
    }
    // Whoever refuses the frame (a full shaper or fault-stage queue, or the driver's),
    // it is counted here, once.
    auto r = tx_head_->push(std::move(frame));
    if (!r) {
        if (r.error() == ENOBUFS)
            ++stats_.tx_dropped_queue_full;
        else
            ++stats_.tx_errors;
    }
    return r;
}

result<> nic::driver_sink::push(packet&& frame) { return self->driver_transmit(std::move(frame)); }

void nic::deliver(packet&& frame) {
    ++stats_.rx_frames;
    stats_.rx_bytes += frame.length();
    if (!taps_.empty()) {
        auto now = sched_.now();
        for (auto* t : taps_) t->on_frame(frame_direction::rx, frame, now);
    }
    (void)rx_head_->push(std::move(frame));
}

result<> nic::receiver_sink::push(packet&& frame) {
    if (!self->receiver_) {
        ++self->stats_.rx_dropped_no_receiver;
        return error{ENXIO};
    }
    return self->receiver_->push(std::move(frame));
}

bool nic::poll_routine(dpc* d, unsigned budget) { return static_cast<nic_dpc*>(d)->owner->driver_poll(budget); }

void nic::remove_tap(frame_tap& t) { std::erase(taps_, &t); }

void nic::add_tx_stage(frame_stage& s) {
    s.set_next(tx_head_);
    tx_head_ = &s;
}

void nic::add_rx_stage(frame_stage& s) {
    s.set_next(rx_head_);
    rx_head_ = &s;
}

} // namespace coronet
