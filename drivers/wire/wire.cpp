#include "drivers/wire/wire.hpp"

#include "drivers/faults/frame_copy.hpp"
#include "drivers/wire/checksum_offload.hpp"
#include "drivers/wire/tcp_segmentation.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace coronet {

wire::wire(scheduler& s, wire_config c)
    : sched_(s), config_(std::move(c)), stats_(registry_, config_.name),
      faults_(config_.faults, config_.seed, stats_.faults),
      events_(s, [this](event&& e) { on_event(std::move(e)); }) {}

wire::~wire() {
    events_.clear(); // the senders' packets go back now
    for (auto& n : nics_)
        n->wire_ = nullptr;
}

wire_nic& wire::attach(counter_registry& registry, nic_config nc, buffer_pool& pool,
                       wire_nic_options options) {
    if (config_.kind == wire_kind::point_to_point && nics_.size() == 2)
        throw std::logic_error("coronet: a point-to-point wire joins two NICs");
    nics_.push_back(make_object<wire_nic>(*this, registry, std::move(nc), pool, options));
    return *nics_.back();
}

duration wire::serialisation(std::size_t bytes) const noexcept {
    if (config_.bandwidth_bps == 0) return duration::zero();
    const std::uint64_t bits_ns = std::uint64_t{bytes} * 8U * 1'000'000'000U;
    return duration(
        static_cast<duration::rep>((bits_ns + config_.bandwidth_bps - 1) / config_.bandwidth_bps));
}

void wire::cut(const nic& from, const nic& to) {
    if (!is_cut(from, to)) cuts_.emplace_back(&from, &to);
}

void wire::heal(const nic& from, const nic& to) {
    std::erase(cuts_, std::pair<const nic*, const nic*>(&from, &to));
}

bool wire::is_cut(const nic& from, const nic& to) const noexcept {
    return std::find(cuts_.begin(), cuts_.end(), std::pair<const nic*, const nic*>(&from, &to)) !=
           cuts_.end();
}

bool wire::passes_whole(const wire_nic& from) const noexcept {
    if (faults_.config().any()) return false; // faults strike MTU-sized frames
    return std::all_of(nics_.begin(), nics_.end(), [&](const ref<wire_nic>& n) {
        return n.get() == &from || n->features().rx_gso;
    });
}

result<> wire::transmit(wire_nic& from, packet&& frame) {
    if (frame.meta().offload.gso_type == packet_offload::gso_none) {
        if (frame.length() > std::size_t{config_.mtu} + nic::ethernet_header_bytes) {
            ++stats_.dropped_mtu; // a giant: a switch drops it silently
            return {};
        }
        return transmit_frame(from, std::move(frame), frame.length());
    }
    auto layout = parse_tso(frame);
    if (!layout) {
        ++stats_.bad_offload;
        return error{EINVAL};
    }
    const std::size_t frame_limit = std::size_t{config_.mtu} + nic::ethernet_header_bytes;
    if (layout->header_bytes + layout->mss > frame_limit) { // its segments are giants
        ++stats_.dropped_mtu;
        return {};
    }
    if (passes_whole(from)) {
        ++stats_.gso_passed_whole;
        return transmit_frame(from, std::move(frame), layout->wire_bytes());
    }
    // The sending NIC's hardware cuts it: every segment queues, travels and meets the faults
    // on its own. The queue takes all of them or none (a partial burst would be a loss).
    if (from.tx_queued_ >= config_.queue_limit) {
        ++stats_.dropped_queue_full;
        return error{ENOBUFS};
    }
    ++stats_.gso_segmented;
    auto n = segment_tso(std::move(frame), [&](packet&& segment) -> result<> {
        ++stats_.gso_segments;
        return transmit_frame(from, std::move(segment), segment.length(), true);
    });
    if (!n) return error{n.error()};
    return {};
}

result<> wire::transmit_frame(wire_nic& from, packet&& frame, std::size_t wire_bytes,
                              bool admitted) {
    const std::size_t length = frame.length();
    if (!admitted && from.tx_queued_ >= config_.queue_limit) {
        ++stats_.dropped_queue_full;
        return error{ENOBUFS};
    }
    ++stats_.frames_carried;
    stats_.bytes_carried += length;

    const time_point now = sched_.now();
    const time_point done = std::max(now, from.busy_until_) + serialisation(wire_bytes);
    from.busy_until_ = done;
    if (done > now) {
        ++from.tx_queued_;
        events_.push(done, event{.sender = &from, .serialised = true, .frame = {}, .corrupt = {}});
    }

    const fault_plan plan = faults_.decide(length);
    if (plan.count == 0) return {}; // lost: the sender's packet goes back now
    if (plan.truncate_to != 0) truncate_frame(frame, plan.truncate_to);
    packet twin;
    bool twinned = false;
    if (plan.count == 2) {
        if (auto shared = frame.share()) { // without a descriptor the duplicate is not made
            twin = std::move(*shared);
            twinned = true;
        }
    }
    carry(from, std::move(frame), plan.deliveries[0], done);
    if (twinned) carry(from, std::move(twin), plan.deliveries[1], done);
    return {};
}

void wire::carry(wire_nic& from, packet&& frame, const fault_plan::delivery& d, time_point sent) {
    ++in_flight_;
    events_.push(sent + config_.latency + d.delay, event{.sender = &from,
                                                         .serialised = false,
                                                         .frame = std::move(frame),
                                                         .corrupt = d.corrupt});
}

void wire::on_event(event&& e) {
    if (e.serialised) {
        e.sender->serialised();
        return;
    }
    --in_flight_;
    for (auto& n : nics_)
        if (n.get() != e.sender) deliver_to(*n, e);
    // e.frame, the sender's packet, is released here.
}

void wire::deliver_to(wire_nic& to, const event& e) {
    if (!cuts_.empty() && is_cut(*e.sender, to)) {
        ++stats_.dropped_partition;
        return;
    }
    const packet_offload& offload = e.frame.meta().offload;
    const bool gso = offload.gso_type != packet_offload::gso_none;
    // A receiver that takes partial checksums gets the frame as sent (virtio's NEEDS_CSUM on
    // receive); unless the wire corrupted it, which the filled checksum must then reveal.
    const bool partial = (offload.flags & packet_offload::needs_csum) != 0 && to.features().rx_gso &&
                         !e.corrupt;
    if (gso && !to.features().rx_gso) { // plugged in after the frame left whole
        ++stats_.dropped_mtu;
        return;
    }
    std::array<byte_patch, 3> patches{};
    std::size_t count = 0;
    if ((offload.flags & packet_offload::needs_csum) != 0 && !partial) {
        if (auto sum = offload_checksum(e.frame)) {
            patches[count++] = (*sum)[0];
            patches[count++] = (*sum)[1];
            ++stats_.checksums_filled;
        } else {
            ++stats_.bad_offload;
        }
    }
    if (e.corrupt) {
        // The checksum is filled before the frame leaves the sender; the wire corrupts after.
        auto it =
            std::find_if(patches.begin(), patches.begin() + static_cast<std::ptrdiff_t>(count),
                         [&](const byte_patch& p) { return p.offset == e.corrupt->offset; });
        if (it != patches.begin() + static_cast<std::ptrdiff_t>(count))
            it->value ^= e.corrupt->mask;
        else
            patches[count++] = corruption_patch(e.frame, *e.corrupt);
        std::sort(patches.begin(), patches.begin() + static_cast<std::ptrdiff_t>(count),
                  [](const byte_patch& a, const byte_patch& b) { return a.offset < b.offset; });
    }

    if (!to.has_room()) {
        ++to.stats().rx_dropped_no_buffer;
        return;
    }
    auto copy = copy_frame(e.frame, to.pool(), to.options_.rx_headroom, stats_.bytes_copied,
                           std::span(patches.data(), count));
    if (!copy) {
        ++to.stats().rx_dropped_no_buffer;
        return;
    }
    if (partial) {
        copy->meta().offload = offload; // offsets count from the frame's start, as before
        ++stats_.partial_checksums_passed;
    }
    copy->meta().timestamp_ns = sched_.now().since_epoch.count();
    ++stats_.deliveries;
    to.receive(std::move(*copy));
}

} // namespace coronet
