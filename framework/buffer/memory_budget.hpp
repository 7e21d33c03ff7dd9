#pragma once
// memory_budget: one host's account of the pool buffers its queues pin, with pressure
// levels as Linux's tcp_mem / udp_mem; memory_charge: one queue's share of it.
//
// Why it is built this way. Every queue draws on the same fixed pool, and a peer chooses how
// long a queue keeps what it holds (a reader that never acknowledges, a socket nobody reads),
// so limits kept per queue in payload bytes do not bound the pool: eight send buffers of
// 1 MiB fill a pool of 4,096 buffers, and a zero-length datagram pins a whole buffer. So each
// queue is charged in the buffers it pins (Linux's truesize), not in bytes, and one budget
// sees them all:
//   below `pressure`       queues grow freely (up to their own limits);
//   from `pressure` on     (until the total falls back to `low`, Linux's hysteresis) a queue
//                          may grow only while it holds less than its fair share,
//                          pressure / (queues holding buffers), and never less than `floor`;
//   at `hard`              no queue grows beyond `floor`.
// The floor lets every connection make progress however full the host is; what keeps the host
// answering when even that runs out is the pool's reserve (buffer_pool.hpp), which queues
// never take.
//
// The state is readable at run time: the "memory" counter group holds, beside the events,
// the buffers each kind of queue holds now (gauges, set rather than counted).
#include <array>
#include <cstdint>
#include <utility>

#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"

namespace coronet {

// The buffers a queued packet is charged for: each slice's, and one for a packet of none
// (a zero-length datagram still held a buffer when it arrived).
inline std::uint32_t buffers_pinned(const packet& p) noexcept {
    return static_cast<std::uint32_t>(p.slice_count() > 1 ? p.slice_count() : 1);
}

enum class queue_kind : std::uint8_t {
    tcp_send,
    tcp_receive,
    tcp_out_of_order,
    udp_receive,
    ipv4_reassembly, // fragments of incomplete datagrams
    arp_pending,     // packets waiting for a neighbour's address
};
inline constexpr std::size_t queue_kind_count = 6;

struct memory_limits {
    // In buffers. 0 in all three: derived from the pool (from_pool).
    std::uint32_t low = 0;
    std::uint32_t pressure = 0;
    std::uint32_t hard = 0;
    std::uint32_t floor = 8; // what any one queue may always hold (16 KiB of 2 KiB buffers)

    // For a pool of `buffers` of which `reserve` are kept for control traffic: hard at 3/4 of
    // the rest (the NIC's ring and segments in flight need the other quarter), pressure at
    // 1/2, low at 3/8, as Linux sizes tcp_mem from the memory it has.
    static memory_limits from_pool(std::uint32_t buffers, std::uint32_t reserve) noexcept;
};

class memory_budget {
public:
    memory_budget(counter_registry& registry, memory_limits limits);
    memory_budget(const memory_budget&) = delete;
    memory_budget& operator=(const memory_budget&) = delete;

    // Whether a queue of `kind` holding `held` buffers may take `more`; a refusal is counted
    // (under pressure or at the hard limit). The caller drops, or waits for its own buffers
    // to go.
    bool may_grow(queue_kind kind, std::uint32_t held, std::uint32_t more = 1) noexcept;
    // How many more buffers a queue holding `held` may take now before may_grow refuses
    // (no_limit while the host is not under pressure): what a receiver may still advertise.
    std::uint32_t room(std::uint32_t held) const noexcept;
    static constexpr std::uint32_t no_limit = UINT32_MAX;

    std::uint32_t total() const noexcept { return total_; }
    std::uint32_t held(queue_kind kind) const noexcept {
        return static_cast<std::uint32_t>(held_[index(kind)]->value);
    }
    bool under_pressure() const noexcept { return pressure_; }
    bool at_hard_limit() const noexcept { return total_ >= limits_.hard; }
    // What one queue may hold under pressure now.
    std::uint32_t fair_share() const noexcept;
    const memory_limits& limits() const noexcept { return limits_; }

private:
    friend class memory_charge;
    static std::size_t index(queue_kind k) noexcept { return static_cast<std::size_t>(k); }
    void adjust(queue_kind kind, std::uint32_t from, std::uint32_t to) noexcept;

    memory_limits limits_;
    counter_group group_;
    std::array<counter*, queue_kind_count> held_;
    counter& total_gauge_;
    counter& pressure_entered_;
    counter& pressure_refusals_; // a queue at or above its fair share wanted more
    counter& hard_refusals_;     // the total was at the hard limit
    std::uint32_t total_ = 0;
    std::uint32_t users_ = 0; // queues holding at least one buffer
    bool pressure_ = false;
};

// The buffers one queue is charged for. The queue sets its count after each change (set()),
// so the charge cannot drift from what it holds; destruction gives it all back. Without a
// budget (a queue made on its own, in a unit test) it only remembers the count.
class memory_charge {
public:
    memory_charge() noexcept = default;
    memory_charge(memory_budget* budget, queue_kind kind) noexcept : budget_(budget), kind_(kind) {}
    memory_charge(memory_charge&& o) noexcept
        : budget_(std::exchange(o.budget_, nullptr)), kind_(o.kind_),
          held_(std::exchange(o.held_, 0)) {}
    memory_charge& operator=(memory_charge&& o) noexcept {
        if (this != &o) {
            set(0);
            budget_ = std::exchange(o.budget_, nullptr);
            kind_ = o.kind_;
            held_ = std::exchange(o.held_, 0);
        }
        return *this;
    }
    ~memory_charge() { set(0); }

    void set(std::uint32_t buffers) noexcept {
        if (budget_ != nullptr && buffers != held_) budget_->adjust(kind_, held_, buffers);
        held_ = buffers;
    }
    // Whether this queue may pin `more` buffers (always, without a budget).
    bool may_grow(std::uint32_t more = 1) const noexcept {
        return budget_ == nullptr || budget_->may_grow(kind_, held_, more);
    }
    // Whether holding `more` would put this queue beyond its fair share (never, without a
    // budget): what tells a queue that is refused whether it is the one to give way.
    bool beyond_share(std::uint32_t more = 1) const noexcept {
        return budget_ != nullptr && held_ + more > budget_->fair_share();
    }
    std::uint32_t held() const noexcept { return held_; }
    // Buffers it may still take under pressure (memory_budget::room); no_limit without one.
    std::uint32_t room() const noexcept {
        return budget_ == nullptr ? memory_budget::no_limit : budget_->room(held_);
    }

private:
    memory_budget* budget_ = nullptr;
    queue_kind kind_ = queue_kind::tcp_send;
    std::uint32_t held_ = 0;
};

} // namespace coronet
