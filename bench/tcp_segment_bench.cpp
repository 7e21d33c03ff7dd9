// TCP per-segment costs on an established connection between two simulated native hosts:
// - receive: one in-order data segment (1460 bytes, no options) from TCP input (the IPv4
//   layer's hand-off, tcp::layer::input) to the socket's receive buffer, with its ACK
//   decision (every second segment sends one, as delayed ACK does); with the checksum
//   verified by the NIC (offload) and in software;
// - send: one MSS from the system call (write, which copies, or send_zc, which does not) to
//   the NIC's transmit queue: send buffer, segment built, TCP/IP/Ethernet headers, checksum.
// Segments are prepared in batches of `batch` outside the timed region and pushed in a timed
// loop (manual time); between batches the receive buffer is drained and the wire delivers.
// best_ns_per_segment is the fastest batch's figure: on a machine shared with other work the
// mean counts the batches another process interrupted.
// Run: build/release/bench/bench_tcp_segment --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "protocols/checksum/checksum.hpp"
#include "protocols/sim/world.hpp"
#include "protocols/tcp/layer.hpp"

#include <benchmark/benchmark.h>
#include <algorithm>
#include <chrono>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::tcp::seq32;

namespace {

// Segments per timed batch: 32 x 1460 bytes stays inside the 64 KiB window first advertised.
constexpr std::size_t batch = 32;
constexpr std::uint32_t payload_size = 1460;
const ipv4_address b_addr(10, 0, 0, 2);

// Two hosts, one connection a -> b, established; timestamps off so segments carry no options
// (their MSS is then 1460 at MTU 1500).
struct connected_pair {
    sim::world w;
    sim::host& a;
    sim::host& b;
    wire& link;
    ref<process> client, server;
    handle client_conn, server_conn;

    static sim::host_options options(std::uint32_t mtu) {
        sim::host_options o;
        o.stack.tcp.timestamps = false;
        o.pool.buffer_count = 16384;
        if (mtu > 1500) o.pool.buffer_size = 65536 + 256;
        if (mtu > 1500) o.pool.buffer_count = 2048;
        return o;
    }
    explicit connected_pair(std::uint32_t mtu = 1500)
        : a(w.add_host("a", options(mtu))), b(w.add_host("b", options(mtu))),
          link(w.add_wire({.mtu = mtu})),
          client(a.create_process("client")), server(b.create_process("server")) {
        w.connect(a, link, ipv4_prefix::parse("10.0.0.1/24").value(), mtu);
        w.connect(b, link, ipv4_prefix::parse("10.0.0.2/24").value(), mtu);
        server->spawn([this]() -> task<void> {
            auto ls = server->listen({ipv4_any, 80}).get().value();
            server_conn = (co_await server->accept(ls)).value();
        });
        client->spawn([this]() -> task<void> {
            client_conn = (co_await client->connect({b_addr, 80})).value();
        });
        w.run_for(1s);
        if (!client_conn || !server_conn) throw std::runtime_error("no connection");
    }
    ~connected_pair() {
        client->terminate("done");
        server->terminate("done");
        w.run(client->join());
        w.run(server->join());
    }
    tcp::socket& receiver() { return *b.stack().tcp().find({b_addr, 80}, client_endpoint()); }
    tcp::socket& sender() { return *a.stack().tcp().find(client_endpoint(), {b_addr, 80}); }
    endpoint client_endpoint() { return client->get_socket_name(client_conn).get().value(); }
};

// A data segment as IPv4 hands it to TCP: header first, `payload_size` bytes after it.
packet data_segment(buffer_pool& pool, const endpoint& from, const endpoint& to, seq32 seq,
                    seq32 ack, std::span<const std::byte> payload) {
    auto p = packet::allocate(pool).value();
    counter copied;
    p.append(payload, copied).value();
    tcp::repr r;
    r.source_port = from.port;
    r.destination_port = to.port;
    r.sequence = seq.raw();
    r.acknowledgment = ack.raw();
    r.flags = tcp::flag::ack | tcp::flag::psh;
    r.window = 65535;
    r.payload_length = static_cast<std::uint16_t>(payload.size());
    const std::uint16_t payload_sum = checksum::sum(payload);
    auto h = p.push_header(static_cast<std::uint32_t>(r.header_length())).value();
    tcp::emit_header(r, h, {from.address, to.address}, payload_sum);
    return p;
}

// With `ack_each_two` the connection's MSS is 1460, so every second segment is a full pair and
// is acknowledged at once (RFC 9293 §3.8.6.3), as in a bulk transfer at MTU 1500: that ACK's
// cost (built, checksummed, routed, handed to the NIC) is shared by two segments. Without, the
// link's MTU is 65535: the same 1460-byte segments are far from two full ones and the ACK
// waits for the delayed-ACK timer, so only the receive path itself is timed.
void receive_segments(benchmark::State& state, bool checksum_by_nic, bool ack_each_two) {
    connected_pair cp(ack_each_two ? 1500 : 65535);
    // The receiver's ACKs are not wanted back at the sender (its sequence space does not know
    // the injected bytes): the wire drops everything from here on.
    cp.link.faults().set_config({.loss = 1.0});
    tcp::socket& rx = cp.receiver();
    (void)rx.set_option(socket_option::non_blocking, 1); // the drain below never waits
    const endpoint from = cp.client_endpoint(), to{b_addr, 80};
    tcp::layer& layer = cp.b.stack().tcp();
    const std::vector<std::byte> payload(payload_size, std::byte{0x5a});
    seq32 seq = rx.rcv_nxt();
    std::vector<packet> segments;
    segments.reserve(batch);
    std::size_t segments_in = 0;
    std::uint64_t acks = 0;
    double best = 1e9; // the fastest batch: what a core not shared with other work does
    const counter& out_segs = *cp.b.counters().find("tcp")->find("out_segs");
    for (auto _ : state) {
        segments.clear();
        for (std::size_t i = 0; i < batch; ++i, seq += payload_size)
            segments.push_back(data_segment(cp.b.pool(), from, to, seq, rx.snd_nxt(), payload));
        const std::uint64_t out_before = out_segs.value;
        const auto start = std::chrono::steady_clock::now();
        for (auto& s : segments) layer.input(std::move(s), from.address, to.address, checksum_by_nic);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        acks += out_segs.value - out_before;
        state.SetIterationTime(took.count());
        best = std::min(best, took.count());
        segments_in += batch;
        // Drain: the receive buffer lends all its packets at once and they go.
        (void)cp.w.run(rx.recv_zc(std::size_t{1} << 30));
        cp.w.run_for(1ms);
    }
    if (rx.rcv_nxt() != seq) state.SkipWithError("a segment was not accepted in order");
    state.SetItemsProcessed(static_cast<std::int64_t>(segments_in));
    state.counters["acks_per_segment"] = static_cast<double>(acks) / static_cast<double>(segments_in);
    state.counters["best_ns_per_segment"] = best * 1e9 / batch;
    state.counters["ns_per_segment"] = benchmark::Counter(
        static_cast<double>(segments_in), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_tcp_receive_segment(benchmark::State& state) {
    receive_segments(state, state.range(0) != 0, state.range(1) != 0);
}
BENCHMARK(BM_tcp_receive_segment)
    ->ArgNames({"nic_checksum", "ack_each_two"})
    ->Args({1, 1})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({0, 0})
    ->UseManualTime();

void send_segments(benchmark::State& state, bool zero_copy) {
    connected_pair cp;
    process& p = *cp.client;
    (void)p.set_socket_option(cp.client_conn, socket_option::no_delay, 1).get();
    // A reader at b that drops what it gets, and a warm-up megabyte to open the windows.
    cp.server->spawn([&]() -> task<void> {
        for (;;) {
            auto r = co_await cp.server->recv_zc(cp.server_conn);
            if (!r || r->empty()) break;
        }
    });
    const std::vector<std::byte> payload(payload_size, std::byte{0x5a});
    for (int i = 0; i < 700; ++i) (void)cp.w.run(p.write(cp.client_conn, payload));
    cp.w.run_for(1s);
    buffer_pool& pool = cp.a.pool();
    std::vector<packet> packets(batch);
    std::size_t sent = 0;
    const auto segs_before = cp.a.counters().read("tcp.out_segs").value();
    bool failed = false;
    double best = 1e9;
    for (auto _ : state) {
        if (zero_copy) {
            for (auto& pk : packets) {
                pk = packet{};
                auto buf = pool.allocate().value();
                pk.append_slice(buf, 0, payload_size).value();
            }
        }
        double took = 0;
        cp.client->spawn([&]() -> task<void> {
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < batch; ++i) {
                auto n = zero_copy ? co_await p.send_zc(cp.client_conn, packets[i])
                                   : co_await p.write(cp.client_conn, payload);
                if (!n || *n != payload_size) failed = true;
            }
            took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        });
        cp.w.run_for(20ms); // the batch goes out, arrives, is read and acknowledged
        state.SetIterationTime(took);
        best = std::min(best, took);
        sent += batch;
    }
    if (failed) state.SkipWithError("a write did not take a whole segment");
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    // 1 when every write left as a segment of its own at once (not held back by a window).
    state.counters["segments_per_write"] =
        static_cast<double>(cp.a.counters().read("tcp.out_segs").value() - segs_before) /
        static_cast<double>(sent);
    state.counters["best_ns_per_segment"] = best * 1e9 / batch;
    state.counters["ns_per_segment"] = benchmark::Counter(
        static_cast<double>(sent), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_tcp_send_segment(benchmark::State& state) { send_segments(state, state.range(0) != 0); }
BENCHMARK(BM_tcp_send_segment)->ArgName("zc")->Arg(0)->Arg(1)->UseManualTime();

} // namespace
