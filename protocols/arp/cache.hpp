#pragma once
// The ARP cache of one interface (RFC 826): IPv4 address to MAC address, with the packets
// that wait for an answer.
//
// Why it is built this way. Every bound is explicit, because every input is a stranger's:
// - at most `max_entries` entries; a new one evicts the oldest (least recently created or
//   confirmed), and its waiting packets are dropped and counted;
// - at most `max_queued` packets and `max_queued_bytes` bytes wait per unresolved address
//   (Linux's unres_qlen and unres_qlen_bytes, 101 and 212992 by default: enough for the 45
//   fragments of a 64 KiB datagram); one more drops the oldest waiting one, as Linux does;
// - at most `max_queued_total` packets wait across all unresolved addresses: Linux bounds
//   only each queue (its memory is elastic), but coronet's packets come from a fixed pool,
//   and 512 entries x 101 packets is more than a pool holds; a flood of packets to
//   addresses that never answer (SYN-ACKs to spoofed sources) would drain it. Beyond the
//   limit a packet makes room by dropping its own address's oldest, or is dropped itself;
// - the buffers the waiting packets pin are charged to the host's budget (memory_budget.hpp,
//   arp_pending; a packet's every slice counted, though its payload may be shared with a
//   TCP send queue: the two are released at different times). When the budget refuses,
//   the new packet is dropped and counted (unres_pressure_discards): under pressure nothing
//   grows, and its sender (TCP) retransmits; the budget's floor lets a few packets wait;
// - entries are created only for addresses we ask about (resolve) and for senders of
//   requests addressed to us (RFC 826 adds those, and we are about to answer them). A reply
//   or a request between others only updates an entry that exists: RFC 826's merge rule
//   without its "add", so a flood of unsolicited ARP cannot fill the cache.
// - entries are found by a keyed hash (SipHash, keyed from the stack's seed): the sender
//   addresses of requests are a stranger's to choose, and with the unkeyed mix of
//   std::hash they could all be chosen for one bucket, making every lookup, including the
//   one of every datagram sent, walk a chain of max_entries.
// - who may change an entry (the policy against address theft): nothing is learnt from a
//   sender MAC that is zero or a group address, or a sender IP that is zero, broadcast or
//   multicast (in_bad_sender); a packet claiming our own address is counted
//   (address_conflicts) and believed in nothing (there is no RFC 5227 defence: we send no
//   announcement back). Otherwise RFC 826's merge rule stands, as in Linux: any packet,
//   gratuitous ARP included, from an address in the cache moves that entry to its sender's
//   MAC. ARP has no authentication, so a host on the link can redirect the traffic for an
//   address we already talk to, as it can on any stack; it cannot plant an entry for one we
//   do not (no "add" for packets not addressed to us), nor take ours.
// An incomplete entry asks again every `retransmit` up to `max_requests` times, then fails:
// its packets go to link::unreachable() (the upcall that tells the sender EHOSTUNREACH) and
// the entry goes. A complete entry lives `reachable_time` after it was last confirmed, then
// ages out; the next packet resolves afresh.
#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/net/address.hpp"
#include "framework/scheduler.hpp"
#include "framework/timer_wheel.hpp"
#include "protocols/arp/counters.hpp"
#include "protocols/arp/wire.hpp"
#include "protocols/tcp/siphash.hpp"

#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <unordered_map>

namespace coronet::arp {

struct options {
    duration reachable_time = std::chrono::seconds(60);
    duration retransmit = std::chrono::seconds(1);
    unsigned max_requests = 3;
    std::size_t max_entries = 512;
    std::size_t max_queued = 101;
    std::size_t max_queued_bytes = 212992;
    std::size_t max_queued_total = 1024;
};

// What the cache needs around it: the interface sends, the stack hears of failures.
class link {
public:
    virtual void send_arp(const repr& packet, mac_address destination) = 0;
    // A packet that waited for `mac` may go now.
    virtual void send_resolved(packet&& ip_packet, mac_address mac) = 0;
    // Resolution failed: the packet (an IPv4 datagram) is dropped after this call.
    virtual void unreachable(const packet& ip_packet) = 0;

protected:
    ~link() = default;
};

class cache {
public:
    enum class state : std::uint8_t { incomplete, reachable };
    struct entry_info {
        state st;
        mac_address mac;
        std::size_t queued;
        unsigned requests;
    };

    // `seed` keys the table's hash (an attacker must not know it). `budget`, when given, is
    // charged for the buffers of the packets waiting.
    cache(scheduler& sched, link& l, counters& stats, options opts, std::uint64_t seed,
          memory_budget* budget = nullptr);
    ~cache();
    cache(const cache&) = delete;
    cache& operator=(const cache&) = delete;

    // Our addresses on this link: what requests are answered for, and the sender we ask as.
    void set_address(ipv4_address ip, mac_address mac) noexcept {
        ip_ = ip;
        mac_ = mac;
    }

    // The fast path: the MAC of a reachable neighbour, or nullptr.
    const mac_address* lookup(ipv4_address ip) const noexcept {
        auto it = entries_.find(ip);
        return it != entries_.end() && it->second->st == state::reachable ? &it->second->mac
                                                                           : nullptr;
    }
    // The slow path: queue `ip_packet` for `next_hop` (creating the entry and sending the
    // first request if it is new). If the neighbour is known already it is sent at once.
    void resolve(ipv4_address next_hop, packet&& ip_packet);

    // A received ARP packet, parsed. Answers requests for our address.
    void input(const repr& r) { receive(r, true); }
    // One that another shard of the host received (and answered): learnt as input() would,
    // never answered, so the requester gets one reply.
    void learn(const repr& r) { receive(r, false); }

    // Sends an announcement of our address (a gratuitous request, RFC 5227 §2.3).
    void announce();

    // Inspection, for tests and `ip neigh`-like listings.
    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t waiting() const noexcept { return waiting_total_; }           // packets
    std::uint32_t waiting_buffers() const noexcept { return charge_.held(); } // what they pin
    // The longest chain of the table (O(table)): what a lookup costs at worst.
    std::size_t longest_chain() const noexcept;
    std::optional<entry_info> find(ipv4_address ip) const;
    const options& opts() const noexcept { return opts_; }

private:
    struct entry;
    struct age_tag;
    // Tagged: timer_entry, the other base, has an untagged list hook of its own.
    using age_hook = boost::intrusive::list_base_hook<
        boost::intrusive::tag<age_tag>, boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
    struct entry : timer_entry, age_hook {
        cache* owner;
        ipv4_address ip;
        mac_address mac{};
        state st = state::incomplete;
        unsigned requests = 0;
        std::deque<packet> waiting;
        std::size_t waiting_bytes = 0;
        entry(cache* c, ipv4_address a) : timer_entry(&on_timer), owner(c), ip(a) {}
    };
    using age_list = boost::intrusive::list<entry, boost::intrusive::base_hook<age_hook>,
                                            boost::intrusive::constant_time_size<false>>;

    static void on_timer(timer_entry* t);
    void receive(const repr& r, bool answer);
    entry& create(ipv4_address ip);
    void erase(entry& e) noexcept;
    void confirm(entry& e, mac_address mac);
    void send_request(entry& e);
    void drop_waiting(entry& e, bool report);
    // Takes all of `e`'s waiting packets out of the cache's account.
    std::deque<packet> take_waiting(entry& e) noexcept;
    // Queues `ip_packet` on `e` within the per-address and total bounds.
    void enqueue(entry& e, packet&& ip_packet);

    scheduler& sched_;
    link& link_;
    counters& stats_;
    options opts_;
    ipv4_address ip_{};
    mac_address mac_{};
    std::size_t waiting_total_ = 0; // packets waiting in all entries
    memory_charge charge_;          // their buffers
    struct address_hash {
        tcp::siphash_key secret;
        std::size_t operator()(ipv4_address a) const noexcept;
    };
    std::unordered_map<ipv4_address, std::unique_ptr<entry>, address_hash> entries_;
    age_list age_; // oldest first
};

} // namespace coronet::arp
