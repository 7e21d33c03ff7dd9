#pragma once
// fault_model: the one implementation of injected faults, shared by the in-memory wire and
// by fault_stage (which puts the same faults on any NIC's path, the TAP device included).
//
// Why it only decides. Each frame gets a fault_plan (lost, or one or two deliveries, each
// with its extra delay and, for the first, a corrupted byte); the wire and the stage carry
// the plan out in their own way (the wire corrupts while copying into the receiver's
// buffers, the stage corrupts a private copy). Deciding in one place, with the random draws
// in a fixed order, keeps the fault model and its counters identical for both, and makes
// a seed replay the same faults.
//
// The model, per frame, in this order: lost with probability `loss` (nothing else drawn);
// duplicated with probability `duplicate` (the duplicate is the intact original, as with
// netem); every delivery waits `delay` plus a uniform [0, jitter]; the first one is
// reordered with probability `reorder` (held back `reorder_delay` more, so later frames
// overtake it), and corrupted with probability `corrupt` (one uniformly chosen byte XORed
// with a non-zero mask). A probability of 0 or 1 draws nothing.
//
// Truncation is no chance but a limit, applied before the draws above and counted in
// `truncated`: a frame whose IP part exceeds `truncate` bytes is cut to truncate + 14 (a
// middlebox with a smaller MTU that cuts instead of dropping). The receiver sees an IPv4
// datagram shorter than its total length and must drop it (ipv4.in_truncated_pkts), so bytes
// arrive exact or not at all. A cut frame loses its offload metadata: nothing on it can be
// summed or segmented any more. It draws nothing, so a seed replays the other faults as before.
#include "drivers/faults/pcg32.hpp"
#include "framework/clock.hpp"
#include "framework/counters.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace coronet {

struct fault_config {
    double loss = 0.0;
    double duplicate = 0.0;
    double reorder = 0.0;
    double corrupt = 0.0;
    duration delay{0};
    duration jitter{0};
    // Should exceed the gap between frames, or nothing overtakes the held-back one.
    duration reorder_delay = std::chrono::milliseconds(1);
    // IP bytes a frame keeps (its Ethernet header aside); 0: frames are never cut.
    std::uint32_t truncate = 0;

    // Whether any fault is set: a frame may be lost, duplicated, reordered, corrupted, held
    // or cut.
    bool any() const noexcept {
        return loss > 0 || duplicate > 0 || reorder > 0 || corrupt > 0 || delay.count() != 0 ||
               jitter.count() != 0 || truncate != 0;
    }
};

// One flipped byte: frame[offset] ^= mask (mask is never 0).
struct corruption {
    std::size_t offset = 0;
    std::byte mask{1};
};

struct fault_plan {
    struct delivery {
        duration delay{0}; // beyond whatever the carrier adds itself
        bool reordered = false;
        std::optional<corruption> corrupt;
    };
    unsigned count = 1; // 0: lost
    std::array<delivery, 2> deliveries{};
    std::size_t truncate_to = 0; // frame bytes every delivery keeps; 0: all of them
};

// The fault counters, declared in the owner's group (the wire's, the stage's).
struct fault_counters {
    explicit fault_counters(counter_group& g)
        : lost(g.declare("lost")), duplicated(g.declare("duplicated")),
          reordered(g.declare("reordered")), corrupted(g.declare("corrupted")),
          truncated(g.declare("truncated")) {}
    counter& lost;
    counter& duplicated;
    counter& reordered;
    counter& corrupted;
    counter& truncated;
};

class fault_model {
public:
    static constexpr std::size_t ethernet_header_bytes = 14; // what `truncate` leaves aside

    // Counts in `counters`, which the owner declared in its own group.
    fault_model(const fault_config& config, std::uint64_t seed, fault_counters& counters)
        : config_(config), rng_(seed), counters_(counters) {}

    // Decides the fate of one frame of `length` bytes (Ethernet header included), and counts it.
    fault_plan decide(std::size_t length);

    const fault_config& config() const noexcept { return config_; }
    // Changes the faults from the next frame on (a test turns loss on mid-run).
    void set_config(const fault_config& c) noexcept { config_ = c; }
    const fault_counters& counters() const noexcept { return counters_; }

private:
    bool chance(double p) noexcept { return p >= 1.0 || (p > 0.0 && rng_.uniform() < p); }
    duration jitter() noexcept;

    fault_config config_;
    pcg32 rng_;
    fault_counters& counters_;
};

} // namespace coronet
