#include "drivers/tap/tap_nic.hpp"

#include <algorithm>
#include <chrono>
#include <linux/if_tun.h>
#include <stdexcept>
#include <string>

namespace coronet {

namespace {

// The largest frame a receive buffer must hold: the virtio header, an Ethernet header and
// an MTU of IP bytes.
std::size_t min_rx_buffer(const tap_options& o) {
    return vnet_header_bytes + nic::ethernet_header_bytes + o.mtu;
}

unsigned rx_buffer_count(const tap_options& o, const buffer_pool& pool) {
    unsigned n = o.rx_buffers != 0 ? o.rx_buffers : std::max(1u, pool.buffer_count() / 2);
    return std::min(n, 32768u);
}

tap_device open_device(const tap_options& o, const buffer_pool& pool) {
    if (o.mtu < 68 || o.mtu > 65535)
        throw std::invalid_argument("coronet: a TAP NIC's MTU must lie in 68..65535, not " +
                                    std::to_string(o.mtu));
    if (pool.buffer_size() < min_rx_buffer(o))
        throw std::invalid_argument(
            "coronet: the TAP NIC's pool buffers (" + std::to_string(pool.buffer_size()) +
            " bytes) cannot hold a frame of MTU " + std::to_string(o.mtu) + " (" +
            std::to_string(min_rx_buffer(o)) + " bytes with the virtio and Ethernet headers)");
    if (o.rx_buffers > pool.buffer_count() || o.rx_buffers > 32768)
        throw std::invalid_argument("coronet: rx_buffers (" + std::to_string(o.rx_buffers) +
                                    ") exceeds the pool or 32768");
    if (o.copy_below != 0 && o.copy_pool != nullptr &&
        std::size_t{o.copy_below} + packet::default_headroom > o.copy_pool->buffer_size())
        throw std::invalid_argument("coronet: copy_below (" + std::to_string(o.copy_below) +
                                    ") and the headroom do not fit a copy pool buffer (" +
                                    std::to_string(o.copy_pool->buffer_size()) + " bytes)");
    if (o.kernel_queue > max_kernel_queue)
        throw std::invalid_argument("coronet: kernel_queue (" + std::to_string(o.kernel_queue) +
                                    ") exceeds " + std::to_string(max_kernel_queue) + " frames");
    if (o.tx_slots == 0 || o.tx_max_slices == 0)
        throw std::invalid_argument(
            "coronet: a TAP NIC needs at least one transmit slot and one slice per frame");
    return tap_device::open(o, pool.buffer_size());
}

nic_config config_for(const tap_device& d, const tap_options& o) {
    nic_config c;
    c.name = o.nic_name.empty() ? d.name() : o.nic_name;
    c.mac = o.mac;
    c.mtu = o.mtu;
    bool csum = (d.offloads() & TUN_F_CSUM) != 0;
    c.features.rx_checksum_validated = csum;
    c.features.tx_checksum_offload = csum;
    // The kernel takes a large segment from a TAP device whatever TUNSETOFFLOAD says; the
    // option alone decides (it rides on checksum offload, as in virtio).
    c.features.tso = csum && o.tso;
    // TUN_F_CSUM: the kernel may hand over partial checksums; TUN_F_TSO4: large segments.
    c.features.rx_gso = csum && (d.offloads() & TUN_F_TSO4) != 0;
    c.features.max_tx_slices = o.tx_max_slices; // the iovecs of a slot, less the vnet header's
    return c;
}

} // namespace

tap_nic::tap_nic(uring::uring_reactor& reactor, counter_registry& registry, buffer_pool& pool,
                 tap_options options)
    : tap_nic(reactor, registry, pool, options, open_device(options, pool)) {}

tap_nic::tap_nic(uring::uring_reactor& reactor, counter_registry& registry, buffer_pool& pool,
                 const tap_options& options, tap_device&& device)
    : nic(reactor.owner(), registry, config_for(device, options)), reactor_(reactor), pool_(pool),
      copy_pool_(options.copy_below != 0 ? options.copy_pool : nullptr),
      copy_below_(options.copy_below), device_(std::move(device)), tap_stats_(stats().group),
      rx_(reactor, device_.fd(), pool,
          {.count = rx_buffer_count(options, pool),
           .group = options.buffer_group,
           .multishot = options.multishot,
           .scratch_bytes = pool.buffer_size()},
          {stats().rx_dropped_no_buffer, stats().rx_errors, tap_stats_.rx_restarts}, &on_rx_ready,
          this),
      tx_(reactor, device_.fd(), options.tx_slots, options.tx_max_slices,
          {stats().tx_errors, tap_stats_.tx_short_writes, tap_stats_.tx_offload_frames,
           stats().tx_dropped_too_many_slices}, // nic::transmit refuses them first
          &on_tx_space, this) {
    rx_.start();
}

tap_nic::~tap_nic() {
    shutdown();
    // The rings may not go while the kernel holds them; this waits for the last
    // completions (at once for a cancelled read on a TAP device) for ten seconds at most,
    // after which the rings' destructors abort with a message.
    for (int i = 0; i < 1000 && !stopped(); ++i)
        reactor_.wait(std::chrono::milliseconds(10));
}

void tap_nic::shutdown() {
    down_ = true;
    rx_.stop();
}

result<> tap_nic::driver_transmit(packet&& frame) {
    if (down_) return error{ENETDOWN};
    return tx_.send(std::move(frame));
}

bool tap_nic::driver_poll(unsigned budget) {
    rx_.refill();
    for (unsigned n = 0; n < budget; ++n) {
        auto b = rx_.pop();
        if (!b) return false;
        receive(*b);
    }
    return rx_.has_completed();
}

void tap_nic::receive(uring::selected_buffer b) {
    // Count 1: whichever way this ends, dropping the last reference re-posts the buffer.
    buffer_ref buf = pool_.adopt(b.id);
    if (b.size > pool_.buffer_size()) { // the kernel reports the frame's length, not what fitted
        ++tap_stats_.rx_truncated;
        ++stats().rx_errors;
        return;
    }
    if (b.size < vnet_header_bytes + ethernet_header_bytes) {
        ++tap_stats_.rx_bad_header;
        ++stats().rx_errors;
        return;
    }
    auto offload = to_offload(read_vnet_header(buf.data()), b.size - vnet_header_bytes);
    if (!offload) {
        ++tap_stats_.rx_bad_header;
        ++stats().rx_errors;
        return;
    }
    std::optional<packet> frame;
    if (copies(b.size - vnet_header_bytes))
        frame = copy_small(buf.data().subspan(vnet_header_bytes, b.size - vnet_header_bytes));
    if (!frame) {
        auto wrapped = packet::wrap(buf, 0, b.size);
        if (!wrapped || !wrapped->pull_header(vnet_header_bytes)) { // no slice descriptor left
            ++stats().rx_dropped_no_buffer;
            return;
        }
        frame = std::move(*wrapped);
    }
    buf.reset(); // a copied frame's buffer goes back to the ring here
    // Set after the pull: csum_start and hdr_len count from the Ethernet header, as virtio does.
    frame->meta().offload = *offload;
    frame->meta().timestamp_ns = sched().now().since_epoch.count();
    if (is_offload_frame(*offload)) ++tap_stats_.rx_offload_frames;
    if (offload->flags & packet_offload::data_valid) ++tap_stats_.rx_checksum_valid;
    deliver(std::move(*frame));
}

std::optional<packet> tap_nic::copy_small(std::span<const std::byte> frame) {
    auto p = packet::allocate(*copy_pool_);
    if (!p) return std::nullopt;
    counter copied; // a driver's copy, not the application's: counted as rx_copied
    if (!p->append(frame, copied)) return std::nullopt;
    ++tap_stats_.rx_copied;
    return std::move(*p);
}

void tap_nic::on_rx_ready(void* self) { static_cast<tap_nic*>(self)->raise_interrupt(); }

void tap_nic::on_tx_space(void* self) { static_cast<tap_nic*>(self)->tx_space_available(); }

} // namespace coronet
