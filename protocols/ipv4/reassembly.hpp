#pragma once
// Reassembly of received fragments (RFC 791 §3.2, RFC 815), in any order, without copying:
// the reassembled payload is the fragments' packets chained in offset order.
//
// Policy, chosen and documented here:
// - Overlaps: a fragment that overlaps one already held, other than an exact duplicate
//   (same offset, same length), discards the whole datagram, as RFC 5722 §4 requires for
//   IPv6. Legitimate senders never overlap; trimming would let an attacker choose which
//   bytes win (the classic IDS evasion). An exact duplicate (a retransmission or a
//   duplicating link) is dropped alone and counted; the first copy's bytes are kept.
// - Inconsistency: a second last fragment (MF clear) with another end, or data beyond the
//   end the last fragment set, discards the datagram likewise. A fragment with MF set whose
//   length is not a multiple of 8, or one that would end beyond 65535 bytes, is malformed.
// - Time: a datagram not complete `timeout` after its first fragment arrived is discarded
//   (Linux's ipfrag_time, 30 s; RFC 1122 §3.3.2 suggests 60 to 120 s).
// - Work: at most `max_fragments` fragments per datagram (one more discards it, counted in
//   reasm_fragments_exceeded), so placing a fragment, a shift of a sorted vector, costs at
//   most that; FreeBSD caps at 16 (net.inet.ip.maxfragsperpacket), 128 lets a 64 KiB
//   datagram cross a 576-byte MTU. Datagrams are found by a keyed hash (SipHash, keyed from
//   the stack's seed): with the unkeyed mix before, sources and identifications chosen to
//   cancel out in it (10.1.0.2 with id 1, 10.2.0.2 with id 2...) all hashed alike, and every
//   fragment walked one chain of every datagram held.
// - Memory: the buffers the held fragments pin (truesize: whole buffers, not just their
//   bytes, since a flood of tiny fragments pins a buffer each) across all datagrams stay
//   under `memory_limit`; room for a new fragment is made by discarding the oldest
//   datagrams, and a fragment that cannot fit even then discards its own datagram.
// - The host's budget (memory_budget.hpp): the buffers held are charged as ipv4_reassembly.
//   When the budget refuses a fragment, who gives way depends on who holds the host:
//   - reassembly beyond its fair share (a flood of fragments that never complete): it makes
//     room by discarding its oldest datagrams (reasm_pressure_evictions), as Linux's ipfrag
//     high/low thresholds did, so that a sender whose fragments come together, newest of
//     all, is still served; a datagram alone beyond the share is discarded itself;
//   - reassembly within its share (other queues fill the host): a fragment that would start a
//     new datagram is dropped (reasm_pressure_drops), as Linux does above ipfrag_high_thresh,
//     and the fragments of datagrams begun are still taken, so that those nearly complete
//     complete: no new datagram starts, each is bounded by max_fragments and the byte cap,
//     and all time out.
#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/scheduler.hpp"
#include "framework/timer_wheel.hpp"
#include "protocols/ipv4/counters.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/tcp/siphash.hpp"

#include <array>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace coronet::ipv4 {

struct reassembly_options {
    duration timeout = std::chrono::seconds(30);
    std::size_t memory_limit = std::size_t{4} << 20;
    std::size_t max_fragments = 128; // per datagram
};

struct reassembled {
    repr header; // fragment zero's, with offset 0, MF clear and the whole payload length
    packet payload;
};

class reassembler {
public:
    // Told when a datagram times out after its first fragment (offset 0) arrived, with that
    // fragment's header and first 8 data bytes: what ICMP time exceeded, code 1, quotes
    // (RFC 792; RFC 1122 §3.3.2 sends it only then).
    using expired_fn = std::function<void(std::span<const std::byte> quote)>;

    // `seed` keys the hash that finds a fragment's datagram (an attacker must not know it).
    // `budget`, when given, is charged for the buffers held.
    reassembler(scheduler& sched, counters& stats, reassembly_options opts, expired_fn on_expired,
                std::uint64_t seed, memory_budget* budget = nullptr);
    ~reassembler();
    reassembler(const reassembler&) = delete;
    reassembler& operator=(const reassembler&) = delete;

    // One fragment: `header` parsed, `raw_header` its bytes, `data` its payload (header
    // pulled, padding trimmed). Returns the datagram when this fragment completes it.
    std::optional<reassembled> input(const repr& header, std::span<const std::byte> raw_header,
                                     packet&& data);

    std::size_t datagrams() const noexcept { return entries_.size(); }
    std::size_t memory() const noexcept { return memory_; }
    std::uint32_t buffers() const noexcept { return charge_.held(); } // charged to the budget
    const reassembly_options& opts() const noexcept { return opts_; }
    // The work of one input() is a lookup (its chain) and a placement (the fragments moved).
    // The longest chain of the table now (O(table), for tests and inspection), and the most
    // fragments one input() moved or visited.
    std::size_t longest_chain() const noexcept;
    std::size_t max_input_steps() const noexcept { return max_input_steps_; }

private:
    struct key {
        std::uint32_t source, destination;
        std::uint16_t identification;
        std::uint8_t protocol;
        friend bool operator==(const key&, const key&) = default;
    };
    struct key_hash {
        tcp::siphash_key secret;
        std::size_t operator()(const key& k) const noexcept;
    };
    struct fragment {
        std::uint32_t begin, end; // data bytes [begin, end) of the datagram
        std::size_t cost;
        std::uint32_t buffers; // what it pins of the pool (one at least)
        packet data;
    };
    struct age_tag;
    // Tagged: timer_entry, the other base, has an untagged list hook of its own.
    using age_hook = boost::intrusive::list_base_hook<
        boost::intrusive::tag<age_tag>, boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
    struct entry : timer_entry, age_hook {
        reassembler* owner;
        key k;
        std::vector<fragment> fragments; // sorted by begin, never overlapping
        std::uint32_t total = 0;         // known once the last fragment came
        bool have_last = false;
        std::uint32_t received = 0;
        std::size_t cost = 0;
        std::uint32_t buffers = 0;
        std::optional<repr> first_header;
        std::array<std::byte, max_header_length + 8> quote{};
        std::size_t quote_length = 0;
        entry(reassembler* r, key kk) : timer_entry(&on_timer), owner(r), k(kk) {}
    };
    using age_list = boost::intrusive::list<entry, boost::intrusive::base_hook<age_hook>,
                                            boost::intrusive::constant_time_size<false>>;

    static void on_timer(timer_entry* t);
    void discard(entry& e) noexcept; // counts a failure, frees it
    void erase(entry& e) noexcept;
    // Room for `buffers` more for `e` while reassembly is beyond its share of a host under
    // pressure, made by discarding the oldest other datagrams; false when none is left.
    bool make_room(const entry& e, std::uint32_t buffers) noexcept;
    entry* oldest_other(const entry& e) noexcept; // the oldest datagram but `e`, or nullptr

    scheduler& sched_;
    counters& stats_;
    reassembly_options opts_;
    expired_fn on_expired_;
    std::unordered_map<key, std::unique_ptr<entry>, key_hash> entries_;
    age_list age_; // oldest first
    std::size_t memory_ = 0;
    memory_charge charge_;
    std::size_t max_input_steps_ = 0;
};

} // namespace coronet::ipv4
