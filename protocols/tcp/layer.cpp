#include "protocols/tcp/layer.hpp"

#include "framework/net/byte_order.hpp"
#include "protocols/checksum/checksum.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace coronet::tcp {

namespace {
constexpr std::size_t initial_buckets = 64;

// The header of nearly every segment of an established connection: no options, or the
// timestamp option alone in the layout RFC 7323 Appendix A recommends (NOP, NOP, TS) and
// every sender uses. Read straight into `r`, as Linux's tcp_fast_parse_options() does;
// false sends anything else through the full parser. (perf: the general parser, building
// and copying an options value through two results, was a third of the receive path.)
bool parse_common(std::span<const std::byte> head, repr& r) noexcept {
    const auto v = view::unchecked(head);
    const auto opts = v.options();
    if (opts.size() == 12) {
        if (std::to_integer<std::uint8_t>(opts[0]) != option_kind::nop ||
            std::to_integer<std::uint8_t>(opts[1]) != option_kind::nop ||
            std::to_integer<std::uint8_t>(opts[2]) != option_kind::timestamps ||
            std::to_integer<std::uint8_t>(opts[3]) != option_length::timestamps)
            return false;
        r.options.timestamps = timestamps{load_be32(opts.subspan(4)), load_be32(opts.subspan(8))};
    } else if (!opts.empty()) {
        return false;
    }
    r.source_port = v.source_port();
    r.destination_port = v.destination_port();
    r.sequence = v.sequence();
    r.acknowledgment = v.acknowledgment();
    r.flags = v.flags();
    r.window = v.window();
    r.urgent_pointer = v.urgent_pointer();
    return true;
}
} // namespace

std::size_t layer::tuple_hash::hash(const endpoint& l, const endpoint& r) const noexcept {
    std::array<std::byte, 12> b{};
    store_be32(std::span(b).subspan<0, 4>(), l.address.to_uint());
    store_be32(std::span(b).subspan<4, 4>(), r.address.to_uint());
    store_be16(std::span(b).subspan<8, 2>(), l.port.value());
    store_be16(std::span(b).subspan<10, 2>(), r.port.value());
    return static_cast<std::size_t>(siphash24(secret, b));
}

std::size_t layer::longest_chain() const noexcept {
    std::size_t longest = 0;
    for (std::size_t i = 0; i < table_.bucket_count(); ++i)
        longest = std::max(longest, table_.bucket_size(i));
    return longest;
}

layer::layer(network& net, scheduler& sched, counters& stats, config cfg)
    : net_(net), sched_(sched), stats_(stats), cfg_(cfg), isn_(cfg.seed), cookies_(cfg.seed ^ 0x5eed),
      buckets_(initial_buckets),
      table_(table::bucket_traits(buckets_.data(), buckets_.size()),
             tuple_hash{siphash_key::derive(cfg.seed, 0x636f6e6e /* "conn" */)}),
      rng_(cfg.seed), port_key_(siphash_key::derive(cfg.seed, 0x706f7274 /* "port" */)),
      buffers_relay_(net.pool().buffers_freed(), &on_buffers_freed, this) {}

bool layer::host_challenge_ack_allowed() {
    const unsigned limit = cfg_.host_challenge_ack_limit;
    if (limit == 0) return true;
    const time_point t = now();
    if (challenges_ == 0 || t - challenge_since_ >= std::chrono::seconds(1)) {
        // Each second's budget is limit/2 plus a random part below the limit, as Linux's
        // tcp_send_challenge_ack since CVE-2016-5696: a fixed count is an oracle.
        challenge_since_ = t;
        challenges_ = 0;
        challenge_budget_ = limit / 2 + std::uniform_int_distribution<unsigned>(0, limit - 1)(rng_);
    }
    if (challenges_ >= challenge_budget_) return false;
    ++challenges_;
    return true;
}

layer::~layer() {
    while (!table_.empty())
        table_.begin()->detach(); // erases itself
    for (auto& [port, list] : ports_)
        for (socket* s : list) {
            s->layer_ = nullptr;
            // A listener is in no table, and may outlive the counters its gauge lives in.
            s->accept_queue_.count_in(nullptr);
        }
    ports_.clear();
}

void layer::transmit_room() {
    // Taken out first: a socket refused again queues itself anew instead of looping here.
    socket::tx_list waiting;
    waiting.splice(waiting.end(), tx_waiting_);
    while (!waiting.empty()) {
        ref<socket> s(&waiting.front());
        waiting.pop_front();
        ++stats_.tx_resumed;
        s->resume_output();
    }
}

void layer::tx_wait(socket& s, bool no_buffer) {
    if (!s.tx_hook_.is_linked()) tx_waiting_.push_back(s);
    if (no_buffer) buffers_relay_.arm();
}

result<ref<socket_object>> layer::open() {
    return ref<socket_object>(make_object<socket>(*this));
}

socket* layer::find(const endpoint& local, const endpoint& remote) const noexcept {
    auto it = table_.find(four_tuple{local, remote}, table_.hash_function(), tuple_equal{});
    return it == table_.end() ? nullptr : const_cast<socket*>(&*it);
}

socket* layer::find_listener(const endpoint& local) const noexcept {
    auto it = ports_.find(local.port.value());
    if (it == ports_.end()) return nullptr;
    socket* any = nullptr;
    for (socket* s : it->second) {
        if (s->state_ != state::listen) continue;
        if (s->local_.address == local.address) return s;
        if (s->local_.address.is_any()) any = s;
    }
    return any;
}

void layer::insert(socket& s) {
    if (table_.size() >= buckets_.size()) {
        std::vector<table::bucket_type> bigger(buckets_.size() * 2);
        table_.rehash(table::bucket_traits(bigger.data(), bigger.size()));
        buckets_.swap(bigger);
    }
    table_.insert(s);
    s.self_ = ref<socket>(&s);
}

void layer::erase(socket& s) noexcept {
    if (!s.table_hook_.is_linked()) return;
    table_.erase(table_.iterator_to(s));
    s.table_hook_ = {};
}

result<> layer::bind(socket& s, endpoint local) {
    if (!local.address.is_any() && !net_.is_local(local.address)) return error{EADDRNOTAVAIL};
    if (local.port.value() == 0) {
        std::uniform_int_distribution<unsigned> d(cfg_.ephemeral_first, cfg_.ephemeral_last);
        const unsigned span = cfg_.ephemeral_last - cfg_.ephemeral_first + 1u;
        const unsigned start = d(rng_);
        for (unsigned i = 0; i < span; ++i) {
            const auto p = static_cast<std::uint16_t>(cfg_.ephemeral_first +
                                                      (start - cfg_.ephemeral_first + i) % span);
            if (!ports_.contains(p)) {
                local.port = port(p);
                break;
            }
        }
        if (local.port.value() == 0) return error{EADDRINUSE};
    } else if (auto it = ports_.find(local.port.value()); it != ports_.end()) {
        for (socket* o : it->second) {
            const bool overlap = o->local_.address.is_any() || local.address.is_any() ||
                                 o->local_.address == local.address;
            if (!overlap) continue;
            // SO_REUSEADDR lets a new socket bind beside connections that are closing or
            // accepted (not beside another listener or a bound, unconnected socket).
            const bool reusable = s.reuse_address_ && o->state_ != state::listen &&
                                  o->state_ != state::closed;
            if (!reusable) return error{EADDRINUSE};
        }
    }
    s.local_ = local;
    s.bound_ = true;
    s.autobound_ = false;
    ports_[local.port.value()].push_back(&s);
    return {};
}

result<> layer::bind_ephemeral(socket& s, ipv4_address local, const endpoint& remote) {
    // RFC 6056 §3.3.4, Algorithm 4 ("double-hash"): the search for a port starts at an offset
    // that is a keyed hash of (local address, remote address, remote port), plus a counter
    // that the same hash picks from a table and that advances with every port tried:
    //     port = min_ephemeral + (F(laddr, raddr, rport) + table[G(...)]++) % num_ephemeral
    // A port is suitable when no listener or explicitly bound socket holds it and the
    // 4-tuple it would make is not in use, so, as Linux's connect(), one port serves
    // connections to different peers and a host is not limited to 16,384 connections.
    // On a host of N shards a port is also suitable only if this shard owns the connection
    // it would make: about one candidate in N, still in the unpredictable order above.
    std::array<std::byte, 10> t{};
    const std::uint32_t la = local.to_uint(), ra = remote.address.to_uint();
    const std::uint16_t rp = remote.port.value();
    for (int i = 0; i < 4; ++i) {
        t[static_cast<std::size_t>(i)] = static_cast<std::byte>(la >> (24 - 8 * i));
        t[static_cast<std::size_t>(4 + i)] = static_cast<std::byte>(ra >> (24 - 8 * i));
    }
    t[8] = static_cast<std::byte>(rp >> 8);
    t[9] = static_cast<std::byte>(rp);
    const std::uint64_t h = siphash24(port_key_, t);
    const auto offset = static_cast<std::uint32_t>(h);                        // F
    std::uint32_t& counter = port_counters_[(h >> 32) % port_counters_.size()]; // table[G]
    const unsigned first = cfg_.ephemeral_first;
    const unsigned span = cfg_.ephemeral_last - first + 1u;
    for (unsigned i = 0; i < span; ++i) {
        const auto p = static_cast<std::uint16_t>(first + (offset + counter++) % span);
        if (!owner_.mine({local, port(p)}, remote) || !shareable_port(p, local, remote)) continue;
        s.local_ = {local, port(p)};
        s.bound_ = true;
        s.autobound_ = true;
        ports_[p].push_back(&s);
        return {};
    }
    return error{EADDRNOTAVAIL}; // as Linux's connect() when every port is taken for this peer
}

bool layer::shareable_port(std::uint16_t p, ipv4_address local, const endpoint& remote) const noexcept {
    if (auto it = ports_.find(p); it != ports_.end()) {
        for (const socket* o : it->second)
            if (!o->autobound_) return false; // a listener, or bound by the application
    }
    return find({local, port(p)}, remote) == nullptr;
}

void layer::unbind(socket& s) noexcept {
    if (!s.bound_) return;
    s.bound_ = false;
    auto it = ports_.find(s.local_.port.value());
    if (it == ports_.end()) return;
    std::erase(it->second, &s);
    if (it->second.empty()) ports_.erase(it);
}

void layer::input(packet&& p, ipv4_address source, ipv4_address destination, bool checksum_valid) {
    ++stats_.in_segs;
    const std::size_t length = p.length();
    if (length < min_header_length || length > max_segment_length) {
        ++stats_.in_errs;
        return;
    }
    if (!checksum_valid) {
        // RFC 9293 §3.1: pseudo-header, header and data sum to all ones.
        checksum::partial sum(checksum::pseudo_header_sum(source, destination, ip_protocol,
                                                          static_cast<std::uint16_t>(length)));
        for (auto s : p.slices()) sum.add(s);
        if (sum.sum() != 0xffff) {
            ++stats_.in_csum_errors;
            ++stats_.in_errs;
            if (tracing()) trace_("tcp rx: bad checksum, dropped");
            return;
        }
    }
    std::array<std::byte, max_header_length> copy;
    std::span<const std::byte> head;
    std::size_t header_length = 0;
    if (auto f = p.front(min_header_length)) {
        header_length = view::unchecked(*f).header_length();
    } else if (p.copy_out(0, std::span(copy).first(min_header_length))) {
        header_length = view::unchecked(std::span<const std::byte>(copy)).header_length();
    }
    if (header_length < min_header_length || header_length > length) {
        ++stats_.in_errs;
        ++stats_.bad_data_offset;
        return;
    }
    if (auto f = p.front(header_length)) {
        head = *f;
    } else {
        (void)p.copy_out(0, std::span(copy).first(header_length));
        head = std::span<const std::byte>(copy).first(header_length);
    }
    segment seg{{}, std::move(p)};
    if (!parse_common(head, seg.header)) {
        // Only the options can be wrong here (RFC 9293 §3.1 MUST-7: an illegal option length
        // is handled, here by dropping the segment without an answer).
        auto parsed = parse(head, {source, destination}, {.verify_checksum = false});
        if (!parsed) {
            ++stats_.in_errs;
            ++stats_.bad_options;
            return;
        }
        seg.header = *parsed;
    }
    seg.header.payload_length = static_cast<std::uint16_t>(length - header_length);
    (void)seg.payload.pull_header(header_length);
    const endpoint local{destination, seg.header.destination_port};
    const endpoint remote{source, seg.header.source_port};
    if (tracing()) trace("rx", seg.header, source, destination, "");
    if (socket* s = find(local, remote)) {
        // TIME-WAIT reuse (RFC 6191 §2, RFC 9293 §3.6.1): a new SYN above the old connection's
        // sequence space (or with a newer timestamp) ends TIME-WAIT and goes to a listener.
        if (s->state_ == state::time_wait && seg.has(flag::syn) && !seg.has(flag::ack) &&
            !seg.has(flag::rst)) {
            const bool newer = s->ts_ok_ && seg.header.options.timestamps
                                   ? seq32(seg.header.options.timestamps->value) > seq32(s->ts_recent_)
                                   : seg.seq() > s->rcv_nxt_;
            socket* l = find_listener(local);
            if (newer && l != nullptr) {
                ++stats_.timewait_reused;
                // As Linux: the new ISS is the old SND.NXT plus a maximum unscaled window, so
                // the old connection's duplicates cannot fall in the new one's window even when
                // it sent faster than the ISN clock (RFC 6528) ticks.
                const seq32 isn = s->snd_max_ + 65535 + 2;
                ref<socket> keep(s);
                s->to_closed(0);
                return listen_input(*l, std::move(seg), {local, remote}, isn);
            }
        }
        ref<socket> keep(s); // the segment may close it
        s->input(std::move(seg));
        return;
    }
    if (socket* l = find_listener(local)) return listen_input(*l, std::move(seg), {local, remote});
    // RFC 9293 §3.10.7.1: CLOSED. An incoming RST is discarded; anything else gets a RST.
    if (!seg.has(flag::rst)) send_reset(seg, local, remote);
}

void layer::send_reset(const segment& seg, const endpoint& local, const endpoint& remote) {
    // "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
    // <CTL=RST,ACK>. If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>" (RFC 9293 §3.10.7.1).
    repr r;
    r.source_port = local.port;
    r.destination_port = remote.port;
    if (seg.has(flag::ack)) {
        r.sequence = seg.header.acknowledgment;
        r.flags = flag::rst;
    } else {
        r.acknowledgment = (seg.seq() + seg.length()).raw();
        r.flags = flag::rst | flag::ack;
    }
    auto p = packet::allocate(net_.pool());
    if (!p) {
        ++stats_.no_buffers;
        return;
    }
    auto h = p->push_header(static_cast<std::uint32_t>(r.header_length()));
    if (!h) {
        ++stats_.no_buffers;
        return;
    }
    emit_header(r, *h, {local.address, remote.address}, 0);
    ++stats_.out_rsts;
    ++stats_.out_segs;
    if (tracing()) trace("tx", r, local.address, remote.address, "reset");
    (void)net_.send_segment(std::move(*p), local.address, remote.address);
}

void layer::report_error(const endpoint& local, const endpoint& remote, std::uint32_t seq, int err) {
    socket* s = find(local, remote);
    if (s == nullptr) {
        ++stats_.icmp_unmatched;
        return;
    }
    // RFC 5927 §4.1: only an error quoting a sequence number in flight is believed; an
    // off-path attacker must guess one to reset a connection being opened.
    if (!in_closed_range(seq32(seq), s->snd_una_, s->snd_max_)) {
        ++stats_.out_of_window_icmps;
        return;
    }
    ref<socket> keep(s);
    s->icmp_error(err);
}

void layer::trace(std::string_view direction, const repr& h, ipv4_address from, ipv4_address to,
                  std::string_view what) {
    std::ostringstream os;
    os << "tcp " << direction << " " << to_string(from) << ":" << h.source_port.value() << " > "
       << to_string(to) << ":" << h.destination_port.value() << " [";
    constexpr std::pair<flag, char> names[] = {{flag::syn, 'S'}, {flag::fin, 'F'}, {flag::rst, 'R'},
                                               {flag::psh, 'P'}, {flag::ack, '.'}};
    for (auto [f, c] : names)
        if (has(h.flags, f)) os << c;
    os << "] seq " << h.sequence << " ack " << h.acknowledgment << " win " << h.window << " len "
       << h.payload_length;
    if (!what.empty()) os << ": " << what;
    trace_(os.str());
}

std::vector<const socket*> layer::listeners() const {
    std::vector<const socket*> out;
    for (const auto& [port, list] : ports_)
        for (const socket* s : list)
            if (s->state_ == state::listen) out.push_back(s);
    std::sort(out.begin(), out.end(), [](const socket* a, const socket* b) {
        return a->local_.port.value() < b->local_.port.value();
    });
    return out;
}

std::vector<const socket*> layer::connections() const {
    std::vector<const socket*> out;
    out.reserve(table_.size());
    for (const socket& s : table_)
        out.push_back(&s);
    return out;
}

std::string layer::connection_table() const {
    std::ostringstream os;
    for (const socket& s : table_)
        os << name(s.state_) << " " << to_string(s.local_) << " " << to_string(s.remote_) << "\n";
    return os.str();
}

} // namespace coronet::tcp
