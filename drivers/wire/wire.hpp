#pragma once
// wire: an in-memory Ethernet medium between wire_nics of one process, on the scheduler's
// timers, so the same code runs on the virtual clock (deterministic, as fast as the CPU) and
// on the real one.
//
//   wire w(sched, {.kind = wire::kind::point_to_point, .latency = 50us,
//                  .bandwidth_bps = 100'000'000, .faults = {.loss = 0.01}, .seed = 42});
//   auto& a = w.attach(registry_a, {.name = "eth0", .mac = ...}, pool_a);
//   auto& b = w.attach(registry_b, {.name = "eth0", .mac = ...}, pool_b);
//
// The model. A sender serialises one frame after another: a frame sent at t starts at
// max(t, end of the previous one) and takes length*8/bandwidth; frames not yet serialised
// count against the sender's queue limit (ENOBUFS beyond it). A frame ends its serialisation
// at T and arrives at T + latency, plus what the fault model adds (fault_model.hpp: loss,
// duplication, reordering, corruption, delay, jitter, truncation; seeded, so a seed replays a run).
// Point-to-point joins exactly two NICs; a hub any number, each frame reaching every NIC but
// its sender (a broadcast segment; no collisions, each sender has its own queue).
//
// Who holds what. transmit() keeps the sender's packet (or a share of it, for a duplicate)
// only until its arrival time; then every receiver gets its own copy in its own pool, made by
// the wire (counted in bytes_copied), and the sender's buffers go back. Frames larger than
// the wire's MTU + 14 are dropped silently as a switch would (counted in dropped_mtu), so a
// sending NIC configured with a larger MTU than its wire black-holes them, as in life.
// A frame sent with checksum offload (needs_csum) gets its checksum filled in on the way,
// as the sending NIC's hardware would; the receiver sees a plain frame.
//
// Segmentation offload (a NIC with features.tso sends gso_tcpv4 frames of up to 64 KiB). Two
// ways, as between virtual machines:
//  - passed whole, when every other NIC on the wire has features.rx_gso and no fault is set:
//    the frame travels as one (its serialisation time that of all its segments) and arrives
//    with its partial checksum unfilled, which the receiver trusts (virtio-net between two
//    guests with GUEST_TSO4/GUEST_CSUM does this, and so does Linux's loopback, where a
//    64 KiB GSO packet crosses without being cut or summed);
//  - cut by the sending NIC (tcp_segmentation.hpp) otherwise: each MTU-sized segment queues,
//    travels, meets the faults and gets its checksum on its own, so loss still strikes
//    single frames. The queue takes the whole burst or refuses it (ENOBUFS).
// A receiver with rx_gso also gets ordinary needs_csum frames unfilled (unless corrupted).
//
// Partitions: cut(from, to) drops every frame from one NIC to another at its arrival (frames
// in flight when the cut comes are lost too, as on a pulled cable), counted in
// dropped_partition; a cut both ways is a symmetric partition, one way a one-way one (a
// firewall dropping one direction). heal() restores delivery from the next arrival on.
#include "drivers/faults/delay_line.hpp"
#include "drivers/faults/fault_model.hpp"
#include "drivers/wire/wire_nic.hpp"
#include "framework/object/ref.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coronet {

enum class wire_kind : std::uint8_t { point_to_point, hub };

struct wire_config {
    std::string name = "wire0"; // its counter group
    wire_kind kind = wire_kind::point_to_point;
    duration latency{0};              // propagation delay
    std::uint64_t bandwidth_bps = 0;  // 0: no serialisation delay
    std::uint32_t mtu = 1500;         // IP bytes per frame; the wire carries mtu + 14
    std::uint32_t queue_limit = 1000; // frames per sender waiting to be serialised
    fault_config faults{};
    std::uint64_t seed = 1;
};

class wire {
public:
    using kind = wire_kind;
    using config = wire_config;

    wire(scheduler& s, wire_config c);
    ~wire();
    wire(const wire&) = delete;
    wire& operator=(const wire&) = delete;

    // Makes a NIC on this wire; its counters go in `registry` (its host's), its received
    // frames in buffers of `pool`. A third NIC on a point-to-point wire is a bug: logic_error.
    wire_nic& attach(counter_registry& registry, nic_config nc, buffer_pool& pool,
                     wire_nic_options options = {});
    const std::vector<ref<wire_nic>>& nics() const noexcept { return nics_; }

    const wire_config& settings() const noexcept { return config_; }
    // The faults apply from the next frame sent (loss can be switched on mid-run).
    fault_model& faults() noexcept { return faults_; }
    // Serialisation time of a frame of `bytes` on this wire (rounded up to a nanosecond).
    duration serialisation(std::size_t bytes) const noexcept;
    // Frames on the wire (in flight) now.
    std::size_t in_flight() const noexcept { return in_flight_; }
    // Frames from `from` to `to` are dropped on arrival until heal(from, to) (see the top).
    void cut(const nic& from, const nic& to);
    void heal(const nic& from, const nic& to);
    bool is_cut(const nic& from, const nic& to) const noexcept;

    struct counters {
        counters(counter_registry& r, const std::string& name) : group(r, name) {}
        counter_group group;
        counter& frames_carried = group.declare("frames_carried"); // accepted from senders
        counter& bytes_carried = group.declare("bytes_carried");
        counter& deliveries = group.declare("deliveries"); // copies put in a receiver's ring
        fault_counters faults{group};
        counter& dropped_mtu = group.declare("dropped_mtu");
        counter& dropped_queue_full = group.declare("dropped_queue_full");
        counter& bytes_copied = group.declare("bytes_copied"); // into receivers' buffers
        counter& checksums_filled = group.declare("checksums_filled");
        counter& bad_offload = group.declare("bad_offload"); // offload metadata that does not fit the frame
        counter& gso_passed_whole = group.declare("gso_passed_whole"); // TSO frames carried uncut
        counter& gso_segmented = group.declare("gso_segmented");       // TSO frames cut by the sender's NIC
        counter& gso_segments = group.declare("gso_segments");         // the frames they were cut into
        counter& partial_checksums_passed = group.declare("partial_checksums_passed");
        counter& dropped_partition = group.declare("dropped_partition"); // arrived across a cut
    };
    // The wire belongs to no host, so its counters sit in a registry of its own.
    const counters& stats() const noexcept { return stats_; }
    const counter_registry& registry() const noexcept { return registry_; }

private:
    friend class wire_nic;
    struct event {
        wire_nic* sender = nullptr;
        bool serialised = false; // the end of a serialisation, not an arrival
        packet frame;
        std::optional<corruption> corrupt;
    };
    result<> transmit(wire_nic& from, packet&& frame);
    // One frame onto the wire; `wire_bytes` sets its serialisation time; `admitted`: the
    // sender's queue was checked already (a segmented burst).
    result<> transmit_frame(wire_nic& from, packet&& frame, std::size_t wire_bytes,
                            bool admitted = false);
    // Whether a TSO frame from `from` can travel whole: see the top of the file.
    bool passes_whole(const wire_nic& from) const noexcept;
    void carry(wire_nic& from, packet&& frame, const fault_plan::delivery& d, time_point sent);
    void on_event(event&& e);
    void deliver_to(wire_nic& to, const event& e);

    scheduler& sched_;
    wire_config config_;
    counter_registry registry_;
    counters stats_;
    fault_model faults_;
    std::vector<ref<wire_nic>> nics_;
    delay_line<event> events_;
    std::size_t in_flight_ = 0;
    std::vector<std::pair<const nic*, const nic*>> cuts_; // (from, to); a few at most
};

} // namespace coronet
