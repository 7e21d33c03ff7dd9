#pragma once
// nic: the network interface card as the stack sees it, and the base every driver (the
// in-memory wire, the io_uring TAP device) builds on.
//
// Receive follows a kernel's interrupt path. The driver's completion (a frame on the wire,
// an io_uring CQE) calls raise_interrupt(): the top half queues the NIC's DPC. The DPC
// calls driver_poll(budget), which hands each frame to deliver(): counted, shown to the
// taps, passed through the receive stages (fault injection), and given to the receiver
// (the stack's Ethernet input). At most `budget` frames per DPC call, NAPI-style.
//
// Transmit: transmit() counts the frame, shows it to the taps, and pushes it through the
// transmit stages (shaper, fault injection) to driver_transmit(), which owns it from then
// on (no payload copy: the driver writes the packet's slices as they are). When the
// driver's queue is full the frame is refused with ENOBUFS and counted; tx_ready() wakes
// waiters when there is room again.
#include "drivers/frame_sink.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"
#include "framework/interrupt.hpp"
#include "framework/net/address.hpp"
#include "framework/object/object.hpp"
#include "framework/scheduler.hpp"
#include "framework/wait_queue.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace coronet {

struct nic_features {
    bool rx_checksum_validated = false; // received frames may carry packet_offload::data_valid
    bool tx_checksum_offload = false;   // frames may be sent with packet_offload::needs_csum
    bool tso = false;                   // TCP frames larger than the MTU (gso_tcpv4) may be sent
    // Received frames may be GSO frames larger than the MTU, or carry a partial checksum
    // (needs_csum) the receiver need not check: virtio's GUEST_TSO4 + GUEST_CSUM, which a TAP
    // with TUN_F_TSO4 also gives. The in-memory wire then passes a sender's TSO frames whole.
    bool rx_gso = false;
    std::uint32_t max_gso_bytes = 65535;
    // The most slices (buffers) one frame may have: the driver's gather limit (a TAP's iovecs
    // per writev, a real NIC's descriptors per packet). 0: none. A frame with more is refused
    // (EMSGSIZE, tx_dropped_too_many_slices): the stack copies it into fewer buffers first
    // (protocols/stack/gather_limit.cpp), as Linux's skb_linearize.
    std::uint32_t max_tx_slices = 0;
};

struct nic_config {
    std::string name = "nic0";
    mac_address mac{0x02, 0, 0, 0, 0, 1};
    std::uint32_t mtu = 1500; // IP bytes per frame, not counting the Ethernet header
    nic_features features{};
};

enum class frame_direction : std::uint8_t { rx, tx };

// Sees every frame that crosses the driver boundary, in both directions (a capture).
class frame_tap {
public:
    virtual ~frame_tap() = default;
    virtual void on_frame(frame_direction dir, const packet& frame, time_point when) = 0;
};

class nic : public typed_object<object_type::nic> {
public:
    static constexpr std::size_t ethernet_header_bytes = 14;

    const std::string& name() const noexcept { return config_.name; }
    mac_address mac() const noexcept { return config_.mac; }
    std::uint32_t mtu() const noexcept { return config_.mtu; }
    const nic_features& features() const noexcept { return config_.features; }
    unsigned interrupt_line() const noexcept { return line_; }
    scheduler& sched() const noexcept { return sched_; }

    // --- The protocol side. ---
    // Where received frames go (the stack's Ethernet input). Without one they are dropped.
    void attach(frame_sink* receiver) noexcept { receiver_ = receiver; }
    // Sends one Ethernet frame. ENOBUFS: the driver's queue is full (dropped and counted);
    // EMSGSIZE: larger than the MTU allows and not a segmentation-offload frame, or more
    // slices than features().max_tx_slices.
    result<> transmit(packet&& frame);
    // Woken when the driver's transmit queue has room again.
    wait_queue& tx_ready() noexcept { return tx_ready_; }

    // --- Taps and stages. ---
    void add_tap(frame_tap& t) { taps_.push_back(&t); }
    void remove_tap(frame_tap& t);
    // A stage sits between the NIC and the driver (transmit) or the receiver (receive); the
    // last one added is the first a frame meets.
    void add_tx_stage(frame_stage& s);
    void add_rx_stage(frame_stage& s);

    struct counters {
        explicit counters(counter_registry& r, const std::string& name) : group(r, name) {}
        counter_group group;
        counter& rx_frames = group.declare("rx_frames");
        counter& rx_bytes = group.declare("rx_bytes");
        counter& rx_dropped_no_buffer = group.declare("rx_dropped_no_buffer");
        counter& rx_dropped_no_receiver = group.declare("rx_dropped_no_receiver");
        counter& rx_errors = group.declare("rx_errors");
        counter& tx_frames = group.declare("tx_frames");
        counter& tx_bytes = group.declare("tx_bytes");
        counter& tx_dropped_queue_full = group.declare("tx_dropped_queue_full");
        counter& tx_dropped_too_big = group.declare("tx_dropped_too_big");
        counter& tx_dropped_too_many_slices = group.declare("tx_dropped_too_many_slices");
        counter& tx_errors = group.declare("tx_errors");
    };
    counters& stats() noexcept { return stats_; }

protected:
    nic(scheduler& s, counter_registry& registry, nic_config config);
    ~nic() override;

    // --- The driver side. ---
    // Owns the frame from here; ENOBUFS when its queue is full.
    virtual result<> driver_transmit(packet&& frame) = 0;
    // Receives up to `budget` frames, calling deliver() for each. Returns true if more
    // are waiting (the DPC then runs again next turn).
    virtual bool driver_poll(unsigned budget) = 0;

    // The top half: called from the driver's completion.
    void raise_interrupt() { sched_.interrupts().raise(line_); }
    // Hands a received frame up the stack.
    void deliver(packet&& frame);
    // The driver's transmit queue has room again.
    void tx_space_available() noexcept { tx_ready_.wake_all(); }

private:
    // The end of the transmit chain: the driver. The start of the receive chain's end: the
    // receiver set by attach().
    struct driver_sink final : frame_sink {
        nic* self;
        explicit driver_sink(nic* n) : self(n) {}
        result<> push(packet&& frame) override;
    };
    struct receiver_sink final : frame_sink {
        nic* self;
        explicit receiver_sink(nic* n) : self(n) {}
        result<> push(packet&& frame) override;
    };
    static bool poll_routine(dpc* d, unsigned budget);

    scheduler& sched_;
    nic_config config_;
    counters stats_;
    unsigned line_;
    struct nic_dpc final : dpc {
        nic* owner;
        explicit nic_dpc(nic* n) : dpc(&poll_routine), owner(n) {}
    } dpc_{this};
    driver_sink to_driver_{this};
    receiver_sink to_receiver_{this};
    frame_sink* tx_head_ = &to_driver_;
    frame_sink* rx_head_ = &to_receiver_;
    frame_sink* receiver_ = nullptr;
    std::vector<frame_tap*> taps_;
    wait_queue tx_ready_;
};

} // namespace coronet
