// ICMP in the native stack: echo (answering, and the ping client), the errors it sends, and
// the errors it receives, which go to the socket they concern.
#include "protocols/stack/header.hpp"
#include "protocols/stack/native_stack.hpp"

#include "framework/wait_queue.hpp"
#include "protocols/checksum/checksum.hpp"
#include "protocols/udp/wire.hpp"

namespace coronet::native {

namespace {

constexpr std::uint8_t type_of(icmp::message m) noexcept { return static_cast<std::uint8_t>(m); }

bool is_error_type(std::uint8_t type) noexcept {
    // RFC 792's error messages: unreachable, source quench, redirect, time exceeded,
    // parameter problem.
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

int to_errno(const icmp::repr& r) noexcept {
    if (r.type == icmp::message::time_exceeded) return EHOSTUNREACH;
    switch (r.code) { // as Linux's icmp_err_convert
    case icmp::unreachable::net:
        return ENETUNREACH;
    case icmp::unreachable::protocol:
        return ENOPROTOOPT;
    case icmp::unreachable::port:
        return ECONNREFUSED;
    case icmp::unreachable::fragmentation_needed:
        return EMSGSIZE;
    default:
        return EHOSTUNREACH;
    }
}

std::uint32_t ping_key(std::uint16_t identifier, std::uint16_t sequence) noexcept {
    return std::uint32_t{identifier} << 16 | sequence;
}

} // namespace

// One echo request waiting for its reply, in the ping coroutine's frame.
struct native_stack::pending_ping : timer_entry {
    ipv4_address destination;
    time_point sent;
    duration rtt{};
    int err = 0;
    bool done = false;
    wait_queue waiters;
    pending_ping() : timer_entry(&on_timeout) {}
    static void on_timeout(timer_entry* t) {
        auto& self = static_cast<pending_ping&>(*t);
        self.err = ETIMEDOUT;
        self.done = true;
        self.waiters.wake_all();
    }
};

void native_stack::icmp_input(interface& in, packet&& p, const ipv4::repr& h) {
    auto& s = stats_.icmp;
    ++s.in_msgs;
    std::array<std::byte, icmp::header_length> head;
    if (!p.copy_out(0, head)) {
        ++s.in_errors;
        return;
    }
    // RFC 792: the checksum covers the whole message, which may be a chain of fragments.
    if ((p.meta().offload.flags & packet_offload::data_valid) == 0) {
        checksum::partial sum;
        for (auto slice : p.slices())
            sum.add(slice);
        if (sum.sum() != 0xffff) {
            ++s.in_csum_errors;
            ++s.in_errors;
            if (tracing()) trace("icmp", "rx", describe(h) + ": bad checksum");
            return;
        }
    }
    const auto v = icmp::view::unchecked(head);
    switch (v.type()) {
    case type_of(icmp::message::echo_request):
        ++s.in_echos;
        // Linux's icmp_echo_ignore_broadcasts: a broadcast ping could make a whole subnet
        // answer one forged source (a smurf attack).
        if (in.is_broadcast(h.destination) || h.destination.is_multicast()) {
            ++s.in_echos_ignored;
            return;
        }
        if (tracing()) trace("icmp", "rx", describe(h) + ": echo request, replying");
        return echo_reply(std::move(p), h, head);
    case type_of(icmp::message::echo_reply):
        ++s.in_echo_reps;
        if (tracing()) trace("icmp", "rx", describe(h) + ": echo reply");
        if (v.identifier() == ping_identifier_) {
            auto it = pings_.find(ping_key(v.identifier(), v.sequence()));
            if (it != pings_.end() && it->second->destination == h.source)
                finish_ping(v.identifier(), v.sequence(), 0);
        }
        return;
    case type_of(icmp::message::destination_unreachable):
    case type_of(icmp::message::time_exceeded): {
        if (v.type() == type_of(icmp::message::time_exceeded))
            ++s.in_time_excds;
        else
            ++s.in_dest_unreachs;
        std::array<std::byte, icmp::header_length + ipv4::max_header_length + 8> msg;
        const auto n = std::min(p.length(), msg.size());
        (void)p.copy_out(0, std::span(msg).first(n));
        auto r = icmp::parse(std::span<const std::byte>(msg).first(n), {.verify_checksum = false});
        if (!r) {
            ++s.in_errors;
            if (tracing()) trace("icmp", "rx", describe(h) + ": malformed error message");
            return;
        }
        if (tracing()) trace("icmp", "rx", describe(h) + ": error, type " + std::to_string(v.type()) +
                                               " code " + std::to_string(v.code()));
        return icmp_error_input(*r, h);
    }
    default:
        ++s.in_unknown_types;
        if (tracing()) trace("icmp", "rx", describe(h) + ": type " + std::to_string(v.type()) + " ignored");
        return;
    }
}

void native_stack::echo_reply(packet&& request, const ipv4::repr& h,
                              std::span<const std::byte> header) {
    // The reply is the request with type 0: its data stays where it is (no copy), and the
    // checksum changes by one word, per RFC 1624 §3 eqn. 3: HC' = ~(~HC + ~m + m').
    std::array<std::byte, icmp::header_length> reply;
    std::copy(header.begin(), header.end(), reply.begin());
    const std::uint16_t old_word = load_be16(reply);
    reply[icmp::field::type] = std::byte{type_of(icmp::message::echo_reply)};
    const std::uint16_t new_word = load_be16(reply);
    store_be16(std::span(reply).subspan(icmp::field::checksum),
               checksum::update(load_be16(std::span(reply).subspan(icmp::field::checksum)),
                                old_word, new_word));
    (void)request.pull_header(icmp::header_length);
    auto room = request.push_header(icmp::header_length);
    if (!room) {
        ++stats_.icmp.out_errors;
        return;
    }
    std::copy(reply.begin(), reply.end(), room->begin());
    request.meta().offload = {};
    ++stats_.icmp.out_msgs;
    ++stats_.icmp.out_echo_reps;
    if (!output(std::move(request), ip_send{h.destination, h.source, ipv4::protocol::icmp}))
        ++stats_.icmp.out_errors;
}

void native_stack::icmp_error_input(const icmp::repr& r, const ipv4::repr& h) {
    (void)h;
    // The quote: the header of a datagram we sent, and its first 8 bytes of data.
    const auto q = ipv4::view::unchecked(r.data);
    const auto data = r.data.subspan(q.header_length());
    const int err = to_errno(r);
    if (q.protocol() == ipv4::protocol::udp) {
        const auto u = udp::view::unchecked(data);
        udp_.report_error({q.source(), u.source_port()}, {q.destination(), u.destination_port()},
                          err, true);
    } else if (q.protocol() == ipv4::protocol::tcp && data.size() >= 8) {
        tcp_.report_error({q.source(), port(load_be16(data))}, {q.destination(), port(load_be16(data.subspan(2)))},
                          load_be32(data.subspan(4)), err);
    } else if (q.protocol() == ipv4::protocol::icmp &&
               std::to_integer<std::uint8_t>(data[0]) == type_of(icmp::message::echo_request)) {
        const auto e = icmp::view::unchecked(data);
        if (e.identifier() == ping_identifier_) finish_ping(e.identifier(), e.sequence(), err);
    }
}

void native_stack::send_icmp_error(icmp::message type, std::uint8_t code,
                                   std::span<const std::byte> quote, ipv4_address from,
                                   std::uint16_t mtu) {
    auto& s = stats_.icmp;
    if (quote.size() < ipv4::min_header_length) return;
    const auto q = ipv4::view::unchecked(quote);
    const ipv4_address to = q.source();
    // RFC 1122 §3.2.2: never about an ICMP error, a datagram to a broadcast or multicast
    // address, a fragment other than the first, or a source that does not name one host.
    if (q.protocol() == ipv4::protocol::icmp) {
        if (quote.size() <= q.header_length() ||
            is_error_type(std::to_integer<std::uint8_t>(quote[q.header_length()])))
            return;
    }
    if (q.destination().is_broadcast() || q.destination().is_multicast() ||
        q.fragment_offset() != 0 || to.is_any() || to.is_broadcast() || to.is_multicast() ||
        to.is_loopback())
        return;
    for (const auto& i : interfaces_)
        if (i->is_broadcast(q.destination()) || i->is_broadcast(to)) return;
    if (!icmp_limit_.allow(sched_.now())) {
        ++s.out_rate_limited;
        if (tracing()) trace("icmp", "tx", "error to " + to_string(to) + ": rate limited");
        return;
    }
    auto p = packet::allocate(*pool_, packet::default_headroom + icmp::header_length +
                                          static_cast<std::uint32_t>(quote.size()));
    if (!p) {
        ++s.out_errors;
        return;
    }
    const icmp::repr r{type, code, 0, 0, mtu, quote};
    auto room = p->push_header(static_cast<std::uint32_t>(r.buffer_len()));
    if (!room) {
        ++s.out_errors;
        return;
    }
    icmp::emit(r, *room);
    ++s.out_msgs;
    if (type == icmp::message::time_exceeded)
        ++s.out_time_excds;
    else
        ++s.out_dest_unreachs;
    if (tracing())
        trace("icmp", "tx", "error type " + std::to_string(type_of(type)) + " code " +
                                std::to_string(code) + " to " + to_string(to));
    if (!output(std::move(*p), ip_send{from, to, ipv4::protocol::icmp})) ++s.out_errors;
}

void native_stack::report_unreachable(const packet& ip_packet) {
    // ARP gave up on the next hop: tell whoever sent the datagram, as a local ICMP host
    // unreachable would (Linux sends itself one), so the socket's next call fails.
    std::array<std::byte, ipv4::max_header_length + 8> bytes;
    const auto n = std::min(ip_packet.length(), bytes.size());
    (void)ip_packet.copy_out(0, std::span(bytes).first(n));
    if (n < ipv4::min_header_length) return;
    const auto q = ipv4::view::unchecked(std::span<const std::byte>(bytes).first(n));
    if (q.fragment_offset() != 0 || n < q.header_length() + 8) return;
    const auto data = std::span<const std::byte>(bytes).subspan(q.header_length(), 8);
    if (tracing()) trace("arp", "tx", "gave up on a datagram to " + to_string(q.destination()));
    if (!is_local(q.source())) {
        // A datagram this router forwarded: RFC 1812 §5.2.7.1 has the source told with ICMP
        // host unreachable (code 1), as Linux does when its neighbour resolution fails.
        if (auto from = source_for(q.source()))
            send_icmp_error(icmp::message::destination_unreachable, icmp::unreachable::host,
                            std::span<const std::byte>(bytes).first(q.header_length() + 8), *from);
        return;
    }
    if (q.protocol() == ipv4::protocol::udp) {
        const auto u = udp::view::unchecked(data);
        udp_.report_error({q.source(), u.source_port()}, {q.destination(), u.destination_port()},
                          EHOSTUNREACH, false);
    } else if (q.protocol() == ipv4::protocol::tcp) {
        tcp_.report_error({q.source(), port(load_be16(data))}, {q.destination(), port(load_be16(data.subspan(2)))},
                          load_be32(data.subspan(4)), EHOSTUNREACH);
    } else if (q.protocol() == ipv4::protocol::icmp &&
               std::to_integer<std::uint8_t>(data[0]) == type_of(icmp::message::echo_request)) {
        const auto e = icmp::view::unchecked(data);
        if (e.identifier() == ping_identifier_) finish_ping(e.identifier(), e.sequence(), EHOSTUNREACH);
    }
}

void native_stack::finish_ping(std::uint16_t identifier, std::uint16_t sequence, int err) {
    auto it = pings_.find(ping_key(identifier, sequence));
    if (it == pings_.end()) return;
    pending_ping& pp = *it->second;
    if (pp.done) return;
    pp.cancel();
    pp.err = err;
    pp.rtt = sched_.now() - pp.sent;
    pp.done = true;
    pp.waiters.wake_all();
}

task<result<duration>> native_stack::ping(ipv4_address destination, std::size_t payload_bytes,
                                          duration timeout) {
    if (payload_bytes > 65507 - icmp::header_length) co_return error{EMSGSIZE};
    auto source = source_for(destination);
    if (!source) co_return error{source.error()};
    auto p = packet::allocate(*pool_);
    if (!p) co_return error{p.error()};
    // Data like ping(8)'s pattern: bytes counting up from 0x08 after the header.
    std::vector<std::byte> data(payload_bytes);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::byte>(0x08 + i);
    counter copied;
    if (auto r = p->append(data, copied); !r) co_return error{r.error()};
    checksum::partial sum;
    for (auto slice : p->slices())
        sum.add(slice);
    const std::uint16_t sequence = ping_sequence_++;
    auto room = p->push_header(icmp::header_length);
    if (!room) co_return error{room.error()};
    auto h = *room;
    h[icmp::field::type] = std::byte{type_of(icmp::message::echo_request)};
    h[icmp::field::code] = std::byte{0};
    store_be16(h.subspan(icmp::field::checksum), 0);
    store_be16(h.subspan(icmp::field::identifier), ping_identifier_);
    store_be16(h.subspan(icmp::field::sequence), sequence);
    store_be16(h.subspan(icmp::field::checksum),
               checksum::finish(checksum::add(checksum::sum(h), sum.sum())));

    pending_ping pp;
    pp.destination = destination;
    pp.sent = sched_.now();
    const auto key = ping_key(ping_identifier_, sequence);
    pings_[key] = &pp;
    struct unregister {
        native_stack* self;
        std::uint32_t key;
        ~unregister() { self->pings_.erase(key); }
    } guard{this, key};
    sched_.timers().add(pp, pp.sent + timeout);
    ++stats_.icmp.out_msgs;
    ++stats_.icmp.out_echos;
    if (auto r = output(std::move(*p), ip_send{*source, destination, ipv4::protocol::icmp}); !r)
        co_return error{r.error()};
    while (!pp.done) {
        if (auto w = co_await pp.waiters.wait(); !w) co_return error{w.error()};
    }
    if (pp.err != 0) co_return error{pp.err};
    co_return pp.rtt;
}

} // namespace coronet::native
