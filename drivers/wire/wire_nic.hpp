#pragma once
// wire_nic: a NIC on an in-memory wire (wire.hpp). Transmit hands the frame to the wire,
// which queues it behind the frames this NIC is still serialising (ENOBUFS past the wire's
// queue limit; tx_ready() wakes once the queue drains to half of it). Receive is a real NIC's:
// at its arrival time the wire copies the frame into a buffer of THIS NIC's pool (its DMA),
// puts it in the bounded receive ring and raises the interrupt; the DPC's driver_poll then
// delivers up to its budget. No free buffer or a full ring: dropped, rx_dropped_no_buffer.
//
// Lifetime: the wire holds a reference to each NIC it made; the pool must outlive the NIC.
// A NIC that outlives its wire is unplugged: transmit fails with ENETDOWN.
#include "drivers/nic.hpp"
#include "drivers/wire/frame_ring.hpp"
#include "framework/buffer/buffer_pool.hpp"

#include <cstdint>

namespace coronet {

class wire;

struct wire_nic_options {
    std::uint32_t rx_ring_size = 256; // frames received and not yet polled
    std::uint32_t rx_headroom = 64;   // bytes kept in front of a received frame (NET_SKB_PAD)
};

class wire_nic : public nic {
public:
    // Use wire::attach(), which makes the NIC and plugs it in.
    wire_nic(wire& w, counter_registry& registry, nic_config config, buffer_pool& pool,
             wire_nic_options options);

    buffer_pool& pool() const noexcept { return pool_; }
    bool plugged() const noexcept { return wire_ != nullptr; }
    // Frames in the receive ring, waiting for the DPC.
    std::size_t rx_pending() const noexcept { return ring_.size(); }
    // Frames accepted by the wire and not yet serialised.
    std::uint32_t tx_queued() const noexcept { return tx_queued_; }

protected:
    ~wire_nic() override = default;
    result<> driver_transmit(packet&& frame) override;
    bool driver_poll(unsigned budget) override;

private:
    friend class wire;
    // From the wire: a frame arrives (copied into this NIC's buffers by the wire).
    bool has_room() const noexcept { return !ring_.full(); }
    void receive(packet&& frame);
    void serialised();

    wire* wire_;
    buffer_pool& pool_;
    wire_nic_options options_;
    frame_ring ring_;
    time_point busy_until_{}; // when this NIC finishes serialising what it has queued
    std::uint32_t tx_queued_ = 0;
};

} // namespace coronet
