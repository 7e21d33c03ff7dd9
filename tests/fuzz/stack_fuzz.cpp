// The whole native stack of one host under attack, stateful: host b runs a TCP echo server
// on port 80 and a UDP socket on port 53 that nobody reads; host a, a well-behaved client,
// sends 16 KiB through b's echo. The input is a program for an attacker at 10.0.0.3 whose
// frames go straight into b's receive path: TCP segments on its own connections (sequence
// and acknowledgment numbers relative to what b last sent it, so inputs reach every state),
// raw frames and IPv4 packets, UDP datagrams and fragments, ICMP errors quoting live
// connections, and steps of virtual time. Lengths and checksums are made right by the
// harness unless the input asks for them wrong.
//
// Invariants, checked after each input: no crash or sanitizer report; the client got back
// a prefix of what it sent (no byte changed, lost in the middle or repeated); each attacker
// connection's bytes reached the server in sequence (payload byte = low byte of its sequence
// number, so any two segments agree where they overlap and a gap or repeat shows); once
// every process has ended and the timers have run out, both hosts' pools are whole.
#include "protocols/arp/wire.hpp"
#include "protocols/checksum/checksum.hpp"
#include "protocols/ethernet/wire.hpp"
#include "protocols/icmp/wire.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/sim/harness.hpp"
#include "protocols/tcp/wire.hpp"
#include "protocols/udp/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <map>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

const ipv4_address a_ip(10, 0, 0, 1), b_ip(10, 0, 0, 2), evil_ip(10, 0, 0, 3);
const mac_address evil_mac{0x02, 0xee, 0, 0, 0, 3};
constexpr std::size_t client_bytes = 16 * 1024;

std::byte client_pattern(std::size_t i) { return static_cast<std::byte>((i * 7 + 3) & 0xff); }
std::byte seq_pattern(std::uint32_t seq) { return static_cast<std::byte>(seq & 0xff); }

// Reads the input front to back; past the end every read is 0.
struct input {
    const std::uint8_t* p;
    std::size_t n;
    bool empty() const { return n == 0; }
    std::uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
    std::span<const std::byte> take(std::size_t k) {
        k = std::min(k, n);
        auto s = fuzz::bytes_of(p, k);
        p += k;
        n -= k;
        return s;
    }
};

// What b last told the attacker on each of its connections (by the attacker's port).
struct peer_view {
    std::uint32_t b_next = 0;  // b's SEQ + length of its last segment: what to acknowledge
    std::uint32_t our_next = 0; // b's ACK: the attacker's next sequence number
    bool known = false;
};

class tx_watch final : public frame_tap {
public:
    std::map<std::uint16_t, peer_view> peers;
    void on_frame(frame_direction dir, const packet& frame, time_point) override {
        if (dir != frame_direction::tx || frame.length() > 2048) return;
        std::vector<std::byte> bytes(frame.length());
        (void)frame.copy_out(0, bytes);
        auto ip = ipv4::parse(std::span<const std::byte>(bytes).subspan(std::min<std::size_t>(14, bytes.size())),
                              {.verify_checksum = false});
        if (!ip || ip->destination != evil_ip || ip->protocol != ipv4::protocol::tcp) return;
        auto l4 = std::span<const std::byte>(bytes).subspan(14 + 20);
        auto t = tcp::parse(l4, {b_ip, evil_ip}, {.verify_checksum = false});
        if (!t) return;
        auto& v = peers[t->destination_port.value()];
        std::uint32_t len = t->payload_length;
        if (tcp::has(t->flags, tcp::flag::syn)) ++len;
        if (tcp::has(t->flags, tcp::flag::fin)) ++len;
        v.b_next = t->sequence + len;
        if (tcp::has(t->flags, tcp::flag::ack)) v.our_next = t->acknowledgment;
        v.known = true;
    }
};

struct harness {
    sim::test_network net{{.seed = 1,
                           .latency = 100us,
                           .bandwidth_bps = 0,
                           .host = {.pool = {.buffer_size = 2048, .buffer_count = 1024}},
                           .settle_arp = false}};
    sim::world& w = net.world();
    sim::host& a = net.a();
    sim::host& b = net.b();
    nic& b_nic = b.nic_at(0);
    tx_watch watch;
    ref<process> server = b.create_process("server");
    ref<process> client = a.create_process("client");
    std::vector<std::byte> echoed; // what the client got back
    bool broken_stream = false;
    std::uint16_t ip_id = 1;

    harness() {
        b_nic.add_tap(watch);
        process* sp = server.get();
        sp->spawn([this, sp]() -> task<void> {
            auto udp = sp->socket(socket_type::datagram).get();
            if (udp) (void)sp->bind(*udp, {ipv4_any, 53}).get(); // never read
            auto ls = sp->listen({ipv4_any, 80}, {.backlog = 8}).get();
            if (!ls) co_return;
            for (;;) {
                auto c = co_await sp->accept(*ls);
                if (!c) co_return;
                sp->spawn(session(*sp, *c));
            }
        });
        process* cp = client.get();
        cp->spawn([this, cp]() -> task<void> {
            auto h = cp->socket(socket_type::stream).get();
            if (!h) co_return;
            if (!co_await cp->connect(*h, {b_ip, port(80)})) co_return;
            std::vector<std::byte> out(client_bytes);
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = client_pattern(i);
            cp->spawn([cp, h = *h, out = std::move(out)]() -> task<void> {
                (void)co_await cp->write_all(h, out);
            });
            std::vector<std::byte> buf(4096);
            while (echoed.size() < client_bytes) {
                auto r = co_await cp->read(*h, buf);
                if (!r || *r == 0) break;
                echoed.insert(echoed.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
            }
        });
        // The attacker announces itself: b learns its MAC from a request addressed to b.
        arp::repr req{.operation = arp::operation::request, .sender_mac = evil_mac, .sender_ip = evil_ip,
                      .target_mac = {}, .target_ip = b_ip};
        std::vector<std::byte> arp_bytes(arp::packet_length);
        arp::emit(req, arp_bytes);
        push_frame(mac_address{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ethernet::ethertype::arp, arp_bytes);
        w.run_for(1ms);
    }

    // Server side: echo, checking attacker streams follow the sequence pattern.
    task<void> session(process& p, handle c) {
        std::vector<std::byte> buf(4096);
        std::optional<std::byte> last;
        for (;;) {
            auto r = co_await p.read(c, buf);
            if (!r || *r == 0) break;
            auto peer = p.get_peer_name(c).get();
            const bool attacker = peer && peer->address == evil_ip;
            for (std::size_t i = 0; attacker && i < *r; ++i) {
                if (last && buf[i] != static_cast<std::byte>(std::to_integer<int>(*last) + 1)) broken_stream = true;
                last = buf[i];
            }
            if (!co_await p.write_all(c, std::span(buf).first(*r))) break;
        }
        (void)co_await p.close(c);
    }

    void push_frame(mac_address to, ethernet::ethertype type, std::span<const std::byte> payload) {
        auto p = packet::allocate(b.pool());
        if (!p) return;
        counter copied;
        std::vector<std::byte> frame(ethernet::header_length + payload.size());
        ethernet::emit({.source = evil_mac, .destination = to, .ethertype = type}, frame);
        std::copy(payload.begin(), payload.end(), frame.begin() + ethernet::header_length);
        if (!p->append(frame, copied)) return;
        (void)b.stack().receiver(0).push(std::move(*p));
    }
    void push_ipv4(ipv4::repr h, std::span<const std::byte> payload) {
        h.payload_length = static_cast<std::uint16_t>(payload.size());
        std::vector<std::byte> dgram(h.buffer_len());
        ipv4::emit(h, dgram);
        std::copy(payload.begin(), payload.end(), dgram.begin() + ipv4::repr::header_length());
        push_frame(b_nic.mac(), ethernet::ethertype::ipv4, dgram);
    }
    ipv4::repr ip_header(ipv4::protocol proto) {
        return {.source = evil_ip, .destination = b_ip, .protocol = proto, .identification = ip_id++};
    }

    void tcp_segment(input& in) {
        const std::uint16_t from = static_cast<std::uint16_t>(40000 + (in.u8() & 3));
        const auto flags = static_cast<tcp::flag>(in.u8() & 0x3f);
        const auto seq_delta = static_cast<std::int16_t>(in.u16());
        const auto ack_delta = static_cast<std::int16_t>(in.u16());
        const auto& v = watch.peers[from];
        tcp::repr r;
        r.source_port = port(from);
        r.destination_port = port(80);
        r.sequence = (v.known ? v.our_next : 1000u) + static_cast<std::uint32_t>(seq_delta);
        r.acknowledgment = v.b_next + static_cast<std::uint32_t>(ack_delta);
        r.flags = flags;
        r.window = in.u16();
        r.urgent_pointer = (in.u8() & 1) ? in.u16() : 0;
        const std::uint8_t opt = in.u8();
        if (opt & 1) r.options.mss = in.u16();
        if (opt & 2) r.options.window_scale = in.u8();
        if (opt & 4) r.options.sack_permitted = true;
        if (opt & 8) r.options.timestamps = tcp::timestamps{in.u16(), in.u16()};
        r.options.sack_count = static_cast<std::uint8_t>((opt >> 4) % (r.options.timestamps ? 4 : 5));
        for (std::uint8_t i = 0; i < r.options.sack_count; ++i)
            r.options.sack_blocks[i] = {v.b_next + static_cast<std::uint32_t>(static_cast<std::int16_t>(in.u16())),
                                        v.b_next + static_cast<std::uint32_t>(static_cast<std::int16_t>(in.u16()))};
        while (r.options.length() > 40) --r.options.sack_count; // what one header holds
        r.payload_length = in.u8() % 200;
        std::vector<std::byte> seg(r.buffer_len());
        for (std::size_t i = 0; i < r.payload_length; ++i)
            seg[r.header_length() + i] = seq_pattern(r.sequence + static_cast<std::uint32_t>(i));
        tcp::emit(r, seg, {evil_ip, b_ip});
        if (in.u8() == 0xff) seg[16] ^= std::byte{1}; // sometimes a bad checksum
        push_ipv4(ip_header(ipv4::protocol::tcp), seg);
    }
    void udp_datagram(input& in, bool fragment) {
        const std::size_t len = in.u8();
        udp::repr r{.source_port = port(5353), .destination_port = port(53),
                    .payload_length = static_cast<std::uint16_t>(len)};
        std::vector<std::byte> d(r.buffer_len());
        auto body = in.take(len);
        std::copy(body.begin(), body.end(), d.begin() + udp::header_length);
        udp::emit(r, d, {evil_ip, b_ip});
        auto h = ip_header(ipv4::protocol::udp);
        if (fragment) {
            h.identification = in.u8();
            h.dont_fragment = false;
            h.more_fragments = in.u8() & 1;
            h.fragment_offset = in.u16() & 0x1fff;
        }
        push_ipv4(h, d);
    }
    void icmp_error(input& in) {
        // Quotes a TCP header of one of the connections to b, as a router on the path would.
        const bool client_conn = in.u8() & 1;
        ipv4::repr inner{.source = b_ip, .destination = client_conn ? a_ip : evil_ip,
                         .protocol = ipv4::protocol::tcp, .payload_length = 20};
        std::vector<std::byte> quoted(28);
        ipv4::emit(inner, quoted);
        const std::uint16_t peer_port = client_conn ? static_cast<std::uint16_t>(in.u16())
                                                    : static_cast<std::uint16_t>(40000 + (in.u8() & 3));
        store_be16(std::span(quoted).subspan(20), 80);
        store_be16(std::span(quoted).subspan(22), peer_port);
        store_be32(std::span(quoted).subspan(24),
                   watch.peers[peer_port].b_next + static_cast<std::uint32_t>(static_cast<std::int16_t>(in.u16())));
        icmp::repr r{.type = static_cast<icmp::message>(in.u8() % 2 ? 3 : 11), .code = static_cast<std::uint8_t>(in.u8() % 16),
                     .next_hop_mtu = in.u16(), .data = quoted};
        std::vector<std::byte> m(r.buffer_len());
        icmp::emit(r, m);
        push_ipv4(ip_header(ipv4::protocol::icmp), m);
    }
    void raw_ipv4(input& in) {
        auto body = in.take(in.u8() + 20u);
        std::vector<std::byte> d(body.begin(), body.end());
        if (d.size() >= 20 && (in.u8() & 1)) { // fix the header checksum so the rest is read
            store_be16(std::span(d).subspan(10), 0);
            const std::size_t hl = std::min<std::size_t>(d.size(), (std::to_integer<std::size_t>(d[0]) & 15) * 4);
            store_be16(std::span(d).subspan(10), checksum::compute(std::span<const std::byte>(d).first(hl)));
        }
        push_frame(b_nic.mac(), ethernet::ethertype::ipv4, d);
    }

    void run(input& in) {
        for (int steps = 0; !in.empty() && steps < 256; ++steps) {
            switch (in.u8() % 8) {
            case 0: w.run_for(std::chrono::milliseconds(in.u8()) * 10); break;
            case 1: case 2: tcp_segment(in); break;
            case 3: udp_datagram(in, false); break;
            case 4: udp_datagram(in, true); break;
            case 5: icmp_error(in); break;
            case 6: raw_ipv4(in); break;
            case 7: {
                auto f = in.take(in.u8());
                if (f.size() >= ethernet::header_length) {
                    auto p = packet::allocate(b.pool());
                    counter copied;
                    if (p && p->append(f, copied)) (void)b.stack().receiver(0).push(std::move(*p));
                }
                break;
            }
            }
            w.run_for(1ms);
        }
        w.run_for(2s);
        FUZZ_CHECK(echoed.size() <= client_bytes);
        for (std::size_t i = 0; i < echoed.size(); ++i) FUZZ_CHECK(echoed[i] == client_pattern(i));
        FUZZ_CHECK(!broken_stream);
        // Teardown: every process ends, every connection times out, every buffer returns.
        server->terminate("fuzz input over");
        client->terminate("fuzz input over");
        w.run(server->join());
        w.run(client->join());
        w.run_for(std::chrono::hours(4));
        for (sim::host* h : {&a, &b})
            if (h->pool().in_use() != 0)
                std::fprintf(stderr, "host %s holds %u buffers after teardown; its counters:\n%s\n",
                             h->name().c_str(), h->pool().in_use(), h->counters_text().c_str());
        for (std::uint16_t pp = 40000; pp < 40004; ++pp)
            if (auto* c = b.stack().tcp().find({b_ip, port(80)}, {evil_ip, port(pp)}))
                std::fprintf(stderr, "b: connection from port %u left in %s, snd_wnd %u, una %u nxt %u, ooo %zu\n", pp,
                             std::string(tcp::name(c->state())).c_str(), c->snd_wnd(), c->snd_una().raw(), c->snd_nxt().raw(), c->reassembly().block_count());
        std::fprintf(stderr, "tcp connections left: a %zu, b %zu\n", a.stack().tcp().connection_count(), b.stack().tcp().connection_count());
        for (sim::host* h : {&a, &b})
            for (std::uint32_t i = 0; i < h->pool().buffer_count(); ++i)
                if (h->pool().use_count(i) != 0) {
                    std::fprintf(stderr, "%s buffer %u (%u refs):", h->name().c_str(), i, h->pool().use_count(i));
                    for (std::size_t k = 0; k < 96; ++k)
                        std::fprintf(stderr, "%s%02x", k % 16 ? "" : "\n  ", std::to_integer<unsigned>(h->pool().data(i)[k]));
                    std::fprintf(stderr, "\n");
                }
        FUZZ_CHECK(a.pool().in_use() == 0);
        FUZZ_CHECK(b.pool().in_use() == 0);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in{data, size};
    harness h;
    h.run(in);
    return 0;
}
