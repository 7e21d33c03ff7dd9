#pragma once
// Two simulated hosts on one wire for TCP tests (a sim::test_network), and a bidirectional
// transfer between them: a server on b:80 and a client on a, each sending its bytes then
// shutting down its write side while reading everything the other sends until end of stream.
#include "protocols/checksum/checksum.hpp"
#include "protocols/sim/harness.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace coronet::tcp_test {

using namespace std::chrono_literals;

inline ipv4_prefix prefix(const char* text) { return ipv4_prefix::parse(text).value(); }
inline const ipv4_address a_addr(10, 0, 0, 1), b_addr(10, 0, 0, 2);

inline std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::byte> v(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::byte>(x);
    }
    return v;
}

// FNV-1a over the bytes: transfers compare hashes, not megabytes.
inline std::uint64_t fnv1a(const std::vector<std::byte>& v) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const auto b : v) h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ull;
    return h;
}

// The offset of the first byte where `a` and `b` differ (the shorter size when one is a
// prefix of the other, equal sizes and no difference give the size): a failed check prints
// one number instead of a megabyte of bytes.
inline std::size_t first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    return i;
}

// sim::test_network's two hosts, with the names the TCP tests use: no ARP settled before
// they start (they count frames from time 0) and a pool of 16,384 buffers a host.
struct pair_world {
    sim::test_network net;
    sim::world& w;
    sim::host& a;
    sim::host& b;
    wire& link;
    static sim::host_options with(const tcp::config& c, duration arp_reachable) {
        sim::host_options o;
        o.stack.tcp = c;
        o.stack.arp.reachable_time = arp_reachable;
        o.pool.buffer_count = 16384;
        return o;
    }
    // `arp_reachable`: how long a resolved neighbour stays; a test that cuts the wire for
    // longer than ARP's 60 s keeps the entry, or TCP hears EHOSTUNREACH from ARP instead of
    // timing out itself.
    explicit pair_world(fault_config faults = {}, tcp::config cfg = {}, std::uint64_t seed = 1,
                        std::uint32_t mtu = 1500, duration latency = 1ms,
                        duration arp_reachable = 60s)
        : pair_world(sim::network_options{.seed = seed,
                                          .faults = faults,
                                          .latency = latency,
                                          .mtu = mtu,
                                          .host = with(cfg, arp_reachable),
                                          .settle_arp = false}) {}
    // Over a wire of the caller's (a short NIC queue, a slow link...): its latency, bandwidth,
    // MTU, queue limit and faults; its name, kind and seed are the harness's. `a_nic`, `b_nic`:
    // the offloads each host's NIC offers (wire.hpp).
    pair_world(tcp::config cfg, const wire_config& wc, nic_features a_nic = {},
               nic_features b_nic = {})
        : pair_world(sim::network_options{.seed = 1,
                                          .faults = wc.faults,
                                          .latency = wc.latency,
                                          .bandwidth_bps = wc.bandwidth_bps,
                                          .mtu = wc.mtu,
                                          .queue_limit = wc.queue_limit,
                                          .host = with(cfg, 60s),
                                          .nics = {a_nic, b_nic},
                                          .settle_arp = false}) {}
    // Any network of the harness's, for a test that needs one of its other options.
    explicit pair_world(sim::network_options o)
        : net(std::move(o)), w(net.world()), a(net.a()), b(net.b()), link(net.link()) {}
    std::uint64_t tcp_counter(sim::host& h, const char* name) {
        return h.counters().find("tcp")->find(name)->value;
    }
};

struct transfer_outcome {
    bool client_ok = false;
    bool server_ok = false;
    std::vector<std::byte> at_server; // what the server read
    std::vector<std::byte> at_client; // what the client read
    int server_error = 0;             // the first error a call gave the server (0: none)
    int client_error = 0;
};

// Writes `out` in chunks, shuts down the write side; reads into `in` until end of stream.
// The first error a call returns goes to `*error` when given.
inline task<bool> exchange(process& p, handle h, const std::vector<std::byte>& out,
                           std::vector<std::byte>& in, int* error = nullptr) {
    bool write_ok = true;
    bool read_ok = true;
    bool done_writing = false;
    p.spawn([&]() -> task<void> {
        std::size_t off = 0;
        while (off < out.size()) {
            const std::size_t n = std::min<std::size_t>(64 * 1024, out.size() - off);
            auto w = co_await p.write(h, std::span(out).subspan(off, n));
            if (!w) {
                write_ok = false;
                if (error != nullptr && *error == 0) *error = w.error();
                break;
            }
            off += *w;
        }
        (void)p.shutdown(h, shutdown_how::write).get();
        done_writing = true;
    });
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto r = co_await p.read(h, buf);
        if (!r) {
            read_ok = false;
            if (error != nullptr && *error == 0) *error = r.error();
            break;
        }
        if (*r == 0) break;
        in.insert(in.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
    }
    while (!done_writing) (void)co_await p.sleep(1ms);
    co_return write_ok && read_ok;
}

// A segment made by hand, as an off-path attacker would, handed to `h`'s TCP input (the
// payload bytes, if any, follow the header). False when `h`'s pool had no buffer for it (a
// NIC would have dropped it).
inline bool inject(sim::host& h, ipv4_address from, port from_port, ipv4_address to, port to_port,
                   std::uint32_t seq, std::uint32_t ack, tcp::flag flags,
                   std::span<const std::byte> payload = {}) {
    auto made = packet::allocate(h.pool());
    if (!made) return false;
    packet& p = *made;
    if (!payload.empty()) {
        counter copied;
        if (!p.append(payload, copied)) return false;
    }
    tcp::repr r;
    r.source_port = from_port;
    r.destination_port = to_port;
    r.sequence = seq;
    r.acknowledgment = ack;
    r.flags = flags;
    r.window = 65535;
    r.payload_length = static_cast<std::uint16_t>(payload.size());
    if (tcp::has(flags, tcp::flag::syn)) r.options.mss = 1460;
    std::uint16_t payload_sum = 0;
    if (!payload.empty()) {
        checksum::partial sum;
        sum.add(payload);
        payload_sum = sum.sum();
    }
    auto hdr = p.push_header(static_cast<std::uint32_t>(r.header_length())).value();
    tcp::emit_header(r, hdr, {from, to}, payload_sum);
    h.stack().tcp().input(std::move(p), from, to, false);
    return true;
}

inline transfer_outcome transfer(pair_world& pw, const std::vector<std::byte>& a_to_b,
                                 const std::vector<std::byte>& b_to_a, duration limit = 3600s) {
    transfer_outcome out;
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    process* sp = server.get();
    process* cp = client.get();
    bool server_done = false;
    bool client_done = false;
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get();
        if (!ls) co_return;
        auto c = co_await sp->accept(*ls);
        (void)sp->close(*ls).get();
        if (!c) co_return;
        out.server_ok = co_await exchange(*sp, *c, b_to_a, out.at_server, &out.server_error);
        (void)sp->close(*c).get();
        server_done = true;
    });
    cp->spawn([&]() -> task<void> {
        auto c = co_await cp->connect({b_addr, 80});
        if (!c) co_return;
        out.client_ok = co_await exchange(*cp, *c, a_to_b, out.at_client, &out.client_error);
        (void)cp->close(*c).get();
        client_done = true;
    });
    pw.w.run_until([&] { return server_done && client_done; }, limit);
    server->terminate("test over");
    client->terminate("test over");
    pw.w.run(server->join());
    pw.w.run(client->join());
    return out;
}

} // namespace coronet::tcp_test
