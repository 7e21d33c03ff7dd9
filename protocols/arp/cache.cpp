#include "protocols/arp/cache.hpp"

#include "framework/net/byte_order.hpp"

#include <algorithm>
#include <array>

namespace coronet::arp {

cache::cache(scheduler& sched, link& l, counters& stats, options opts, std::uint64_t seed,
             memory_budget* budget)
    : sched_(sched), link_(l), stats_(stats), opts_(opts), charge_(budget, queue_kind::arp_pending),
      entries_(16, address_hash{tcp::siphash_key::derive(seed, 0x61727020 /* "arp " */)}) {}

std::size_t cache::address_hash::operator()(ipv4_address a) const noexcept {
    std::array<std::byte, 4> b{};
    store_be32(b, a.to_uint());
    return static_cast<std::size_t>(tcp::siphash24(secret, b));
}

std::size_t cache::longest_chain() const noexcept {
    std::size_t longest = 0;
    for (std::size_t i = 0; i < entries_.bucket_count(); ++i)
        longest = std::max(longest, entries_.bucket_size(i));
    return longest;
}

cache::~cache() {
    age_.clear();
    entries_.clear(); // timers disarm themselves; waiting packets are released
}

std::optional<cache::entry_info> cache::find(ipv4_address ip) const {
    auto it = entries_.find(ip);
    if (it == entries_.end()) return std::nullopt;
    const entry& e = *it->second;
    return entry_info{e.st, e.mac, e.waiting.size(), e.requests};
}

void cache::resolve(ipv4_address next_hop, packet&& ip_packet) {
    auto it = entries_.find(next_hop);
    if (it == entries_.end()) {
        entry& e = create(next_hop);
        enqueue(e, std::move(ip_packet));
        send_request(e);
        sched_.timers().add(e, sched_.now() + opts_.retransmit);
        return;
    }
    entry& e = *it->second;
    if (e.st == state::reachable) {
        link_.send_resolved(std::move(ip_packet), e.mac);
        return;
    }
    enqueue(e, std::move(ip_packet));
}

void cache::enqueue(entry& e, packet&& ip_packet) {
    // Linux's unres_qlen policy: the oldest waiting packets make room; and the total bound.
    while (!e.waiting.empty() && (e.waiting.size() >= opts_.max_queued ||
                                  e.waiting_bytes + ip_packet.length() > opts_.max_queued_bytes ||
                                  waiting_total_ >= opts_.max_queued_total)) {
        e.waiting_bytes -= e.waiting.front().length();
        charge_.set(charge_.held() - buffers_pinned(e.waiting.front()));
        e.waiting.pop_front();
        --waiting_total_;
        ++stats_.unres_discards;
    }
    if (waiting_total_ >= opts_.max_queued_total) {
        ++stats_.unres_discards; // nothing of its own to drop: this one goes
        return;
    }
    const std::uint32_t buffers = buffers_pinned(ip_packet);
    if (!charge_.may_grow(buffers)) {
        ++stats_.unres_discards;
        ++stats_.unres_pressure_discards;
        return;
    }
    e.waiting_bytes += ip_packet.length();
    e.waiting.push_back(std::move(ip_packet));
    ++waiting_total_;
    charge_.set(charge_.held() + buffers);
}

std::deque<packet> cache::take_waiting(entry& e) noexcept {
    std::deque<packet> out = std::move(e.waiting);
    e.waiting.clear();
    e.waiting_bytes = 0;
    waiting_total_ -= out.size();
    std::uint32_t buffers = 0;
    for (const auto& p : out)
        buffers += buffers_pinned(p);
    charge_.set(charge_.held() - buffers);
    return out;
}

void cache::receive(const repr& r, bool answer) {
    if (r.operation == operation::request)
        ++stats_.in_requests;
    else
        ++stats_.in_replies;
    if (r.sender_mac.is_multicast() || r.sender_mac == mac_address{} ||
        r.sender_ip.is_broadcast() || r.sender_ip.is_multicast() || r.sender_ip.is_any()) {
        // Nothing to learn from a group or zero sender (an RFC 5227 probe has a zero
        // sender address: we keep no conflict detection, so it is only counted).
        ++stats_.in_bad_sender;
        return;
    }
    if (r.sender_ip == ip_) {
        ++stats_.address_conflicts;
        return;
    }
    // RFC 826, "Packet Reception": if the pair <protocol type, sender protocol address> is
    // already in the table, update the sender hardware address (Merge_flag := true).
    bool merged = false;
    if (auto it = entries_.find(r.sender_ip); it != entries_.end()) {
        confirm(*it->second, r.sender_mac);
        merged = true;
    }
    // "?Am I the target protocol address? Yes: if Merge_flag is false, add the triplet". We
    // add only for requests (we answer them at once); a reply we did not ask for adds nothing.
    const bool for_us = r.target_ip == ip_ && !ip_.is_any();
    if (for_us && r.operation == operation::request) {
        if (!merged) confirm(create(r.sender_ip), r.sender_mac);
        if (!answer) return;
        // "Swap hardware and protocol fields, putting the local hardware and protocol
        // addresses in the sender fields. Set the ar$op field to ares_op$REPLY."
        ++stats_.out_replies;
        link_.send_arp(repr{operation::reply, mac_, ip_, r.sender_mac, r.sender_ip}, r.sender_mac);
        return;
    }
    if (!merged) ++stats_.in_ignored;
}

void cache::announce() {
    ++stats_.out_requests;
    link_.send_arp(repr{operation::request, mac_, ip_, mac_address{}, ip_}, mac_broadcast);
}

cache::entry& cache::create(ipv4_address ip) {
    if (entries_.size() >= opts_.max_entries && !age_.empty()) {
        entry& oldest = age_.front();
        ++stats_.entries_evicted;
        drop_waiting(oldest, false);
        erase(oldest);
    }
    auto e = std::make_unique<entry>(this, ip);
    entry& ref = *e;
    entries_.emplace(ip, std::move(e));
    age_.push_back(ref);
    ++stats_.entries_created;
    return ref;
}

void cache::erase(entry& e) noexcept {
    e.cancel();
    e.age_hook::unlink();
    entries_.erase(e.ip); // destroys e
}

void cache::confirm(entry& e, mac_address mac) {
    ++stats_.entries_updated;
    e.mac = mac;
    e.st = state::reachable;
    e.requests = 0;
    e.age_hook::unlink();
    age_.push_back(e);
    sched_.timers().add(e, sched_.now() + opts_.reachable_time);
    // Flush in arrival order. Taken out first: sending may come back into the cache.
    std::deque<packet> ready = take_waiting(e);
    for (auto& p : ready)
        link_.send_resolved(std::move(p), mac);
}

void cache::send_request(entry& e) {
    ++e.requests;
    ++stats_.out_requests;
    link_.send_arp(repr{operation::request, mac_, ip_, mac_address{}, e.ip}, mac_broadcast);
}

void cache::drop_waiting(entry& e, bool report) {
    std::deque<packet> dropped = take_waiting(e);
    for (auto& p : dropped) {
        ++stats_.unres_discards;
        if (report) link_.unreachable(p);
    }
}

void cache::on_timer(timer_entry* t) {
    entry& e = static_cast<entry&>(*t);
    cache& c = *e.owner;
    if (e.st == state::reachable) {
        ++c.stats_.entries_aged;
        c.erase(e);
        return;
    }
    if (e.requests < c.opts_.max_requests) {
        c.send_request(e);
        c.sched_.timers().add(e, c.sched_.now() + c.opts_.retransmit);
        return;
    }
    ++c.stats_.resolution_failures;
    c.drop_waiting(e, true);
    c.erase(e);
}

} // namespace coronet::arp
