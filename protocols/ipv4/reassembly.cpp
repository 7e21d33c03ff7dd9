#include "protocols/ipv4/reassembly.hpp"

#include "framework/net/byte_order.hpp"

#include <algorithm>

namespace coronet::ipv4 {

namespace {
// What a fragment pins: its buffers whole, plus its bookkeeping.
std::size_t truesize(const packet& p) noexcept {
    const std::size_t buffers = p.pool() != nullptr ? p.slice_count() * p.pool()->buffer_size() : 0;
    return std::max(buffers, p.length()) + 64;
}
} // namespace

std::size_t reassembler::key_hash::operator()(const key& k) const noexcept {
    std::array<std::byte, 11> b{};
    store_be32(std::span(b).subspan<0, 4>(), k.source);
    store_be32(std::span(b).subspan<4, 4>(), k.destination);
    store_be16(std::span(b).subspan<8, 2>(), k.identification);
    b[10] = std::byte{k.protocol};
    return static_cast<std::size_t>(tcp::siphash24(secret, b));
}

reassembler::reassembler(scheduler& sched, counters& stats, reassembly_options opts,
                         expired_fn on_expired, std::uint64_t seed, memory_budget* budget)
    : sched_(sched), stats_(stats), opts_(opts), on_expired_(std::move(on_expired)),
      entries_(16, key_hash{tcp::siphash_key::derive(seed, 0x66726167 /* "frag" */)}),
      charge_(budget, queue_kind::ipv4_reassembly) {}

std::size_t reassembler::longest_chain() const noexcept {
    std::size_t longest = 0;
    for (std::size_t b = 0; b < entries_.bucket_count(); ++b)
        longest = std::max(longest, entries_.bucket_size(b));
    return longest;
}

reassembler::~reassembler() {
    age_.clear();
    entries_.clear();
}

std::optional<reassembled> reassembler::input(const repr& header,
                                              std::span<const std::byte> raw_header,
                                              packet&& data) {
    const std::uint32_t begin = std::uint32_t{header.fragment_offset} * 8;
    const std::uint32_t end = begin + static_cast<std::uint32_t>(data.length());
    if ((header.more_fragments && (data.empty() || data.length() % 8 != 0)) ||
        end + raw_header.size() > max_packet_length) {
        ++stats_.reasm_fails;
        return std::nullopt;
    }
    const key k{header.source.to_uint(), header.destination.to_uint(), header.identification,
                static_cast<std::uint8_t>(header.protocol)};
    const std::uint32_t buffers = buffers_pinned(data);
    auto it = entries_.find(k);
    if (it == entries_.end()) {
        // A host short of buffers for other queues starts no new datagram (see the header).
        if (!charge_.may_grow(buffers) && !charge_.beyond_share(buffers)) {
            ++stats_.reasm_pressure_drops;
            return std::nullopt;
        }
        auto fresh = std::make_unique<entry>(this, k);
        sched_.timers().add(*fresh, sched_.now() + opts_.timeout);
        age_.push_back(*fresh);
        it = entries_.emplace(k, std::move(fresh)).first;
    }
    entry& e = *it->second;

    // The end of the datagram, once a fragment without MF says it.
    if (!header.more_fragments) {
        const bool contradicts = (e.have_last && end != e.total) ||
                                 (!e.fragments.empty() && e.fragments.back().end > end);
        if (contradicts) {
            discard(e);
            return std::nullopt;
        }
        e.total = end;
        e.have_last = true;
    } else if (e.have_last && end > e.total) {
        discard(e);
        return std::nullopt;
    }

    // Where it goes, and whether it overlaps a neighbour (RFC 5722-style policy above).
    auto pos = std::lower_bound(e.fragments.begin(), e.fragments.end(), begin,
                                [](const fragment& f, std::uint32_t b) { return f.begin < b; });
    auto overlaps = [&](const fragment& f) { return begin < f.end && f.begin < end; };
    if (pos != e.fragments.end() && pos->begin == begin && pos->end == end) {
        ++stats_.reasm_duplicates;
        return std::nullopt;
    }
    if ((pos != e.fragments.end() && overlaps(*pos)) ||
        (pos != e.fragments.begin() && overlaps(*std::prev(pos)))) {
        ++stats_.reasm_overlaps;
        discard(e);
        return std::nullopt;
    }

    if (e.fragments.size() >= opts_.max_fragments) {
        ++stats_.reasm_fragments_exceeded;
        discard(e);
        return std::nullopt;
    }

    // Room under the memory limit, made by discarding the oldest other datagrams.
    const std::size_t cost = truesize(data);
    while (memory_ + cost > opts_.memory_limit) {
        entry* victim = oldest_other(e);
        if (victim == nullptr) break;
        ++stats_.reasm_memory_evictions;
        discard(*victim);
    }
    if (memory_ + cost > opts_.memory_limit) {
        ++stats_.reasm_memory_evictions;
        discard(e);
        return std::nullopt;
    }
    if (!make_room(e, buffers)) {
        ++stats_.reasm_pressure_evictions;
        discard(e);
        return std::nullopt;
    }

    if (begin == 0) {
        e.first_header = header;
        const auto n = std::min(raw_header.size(), max_header_length);
        std::copy_n(raw_header.begin(), n, e.quote.begin());
        const auto extra = std::min<std::size_t>(8, data.length());
        (void)data.copy_out(0, std::span(e.quote).subspan(n, extra));
        e.quote_length = n + extra;
    }
    max_input_steps_ =
        std::max<std::size_t>(max_input_steps_, e.fragments.end() - pos); // the shift
    e.fragments.insert(pos, fragment{begin, end, cost, buffers, std::move(data)});
    e.received += end - begin;
    e.cost += cost;
    e.buffers += buffers;
    memory_ += cost;
    charge_.set(charge_.held() + buffers);

    // Complete when the pieces, which never overlap, add up to the end.
    if (!e.have_last || e.received != e.total || !e.first_header) return std::nullopt;
    max_input_steps_ = std::max(max_input_steps_, e.fragments.size()); // chained once, at the end
    reassembled out{*e.first_header, std::move(e.fragments.front().data)};
    for (auto f = std::next(e.fragments.begin()); f != e.fragments.end(); ++f)
        out.payload.append(std::move(f->data));
    out.header.fragment_offset = 0;
    out.header.more_fragments = false;
    out.header.payload_length = static_cast<std::uint16_t>(e.total);
    ++stats_.reasm_oks;
    erase(e);
    return out;
}

void reassembler::discard(entry& e) noexcept {
    ++stats_.reasm_fails;
    erase(e);
}

reassembler::entry* reassembler::oldest_other(const entry& e) noexcept {
    for (auto& candidate : age_)
        if (&candidate != &e) return &candidate;
    return nullptr;
}

bool reassembler::make_room(const entry& e, std::uint32_t buffers) noexcept {
    while (!charge_.may_grow(buffers) && charge_.beyond_share(buffers)) {
        entry* victim = oldest_other(e);
        if (victim == nullptr) return false;
        ++stats_.reasm_pressure_evictions;
        discard(*victim);
    }
    return true;
}

void reassembler::erase(entry& e) noexcept {
    memory_ -= e.cost;
    charge_.set(charge_.held() - e.buffers);
    e.cancel();
    e.age_hook::unlink();
    entries_.erase(e.k); // destroys e and the fragments it holds
}

void reassembler::on_timer(timer_entry* t) {
    entry& e = static_cast<entry&>(*t);
    reassembler& r = *e.owner;
    ++r.stats_.reasm_timeout;
    std::array<std::byte, max_header_length + 8> quote = e.quote;
    const std::size_t n = e.first_header ? e.quote_length : 0;
    r.discard(e);
    if (n != 0 && r.on_expired_) r.on_expired_(std::span(quote).first(n));
}

} // namespace coronet::ipv4
