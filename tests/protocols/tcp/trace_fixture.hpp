#pragma once
// Packet-trace tests of the TCP engine (shared/STYLE.md): one tcp::layer on virtual time, the
// test playing the peer. The fixture is the layer's network (tcp/network.hpp): every segment
// TCP sends is parsed (its checksum verified) and kept; the test injects the peer's segments
// straight into the layer's input. A process on the fixture (it is a network_stack too) makes
// the socket calls, so close, shutdown and the options go the way a user's do.
//
// Traces print like tcpdump with relative numbers: our sequence numbers from our ISS, the
// peer's from its ISN (peer_isn, near the 32-bit wrap on purpose), times from the moment the
// state builder finished:
//
//   trace t;
//   t.established();                                     // our SYN, its SYN-ACK, our ACK
//   t.in({.flags = P | A, .seq = 1, .ack = 1, .len = 100});
//   t.run_for(40ms);
//   CHECK(t.out() == "40ms [.] seq 1 ack 101 win 65535 len 0"); // the delayed ACK
//   CHECK(t.quiet());
//
// Back-pressure: `tx_room` segments are accepted, then send_segment refuses with ENOBUFS (a
// full transmit queue) until room() says there is room again, as a NIC's tx_ready() would.
//
// Offloads: `path` is what route() answers; with checksum offload the fixture fills the
// checksum as the NIC would before parsing, and keeps each segment's gso_size.
#include "drivers/wire/checksum_offload.hpp"
#include "framework/process/process.hpp"
#include "framework/process/socket.hpp"
#include "protocols/checksum/checksum.hpp"
#include "protocols/tcp/layer.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <sstream>
#include <string>
#include <vector>

namespace coronet::tcp_trace {

using namespace std::chrono_literals;

inline constexpr tcp::flag S = tcp::flag::syn, A = tcp::flag::ack, F = tcp::flag::fin,
                           R = tcp::flag::rst, P = tcp::flag::psh, U = tcp::flag::urg;
inline const ipv4_address us(10, 0, 0, 1), them(10, 0, 0, 2);
inline constexpr std::uint16_t server_port = 80;   // where the peer listens (active open)
inline constexpr std::uint16_t listen_port = 8080; // where we listen (passive open)
inline constexpr std::uint16_t peer_port = 5555;
// 200 bytes below the wrap: the sequence arithmetic of a connection wraps within its first
// segments.
inline constexpr std::uint32_t peer_isn = 0xffffff38;

// A segment from the peer: seq relative to peer_isn, ack relative to our ISS.
struct seg_in {
    tcp::flag flags = tcp::flag::ack;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint16_t win = 65535;
    std::uint16_t len = 0; // payload bytes (a pattern)
    tcp::options opts{};
    std::uint16_t urg = 0; // the urgent pointer field
};

// A segment we sent, at the virtual time it left.
struct seg_out {
    duration at{};
    tcp::repr h;
    std::vector<std::byte> payload;
    std::uint16_t gso_size = 0; // the NIC cuts the payload into pieces of this (0: none)
};

inline tcp::config trace_config() {
    tcp::config c;
    c.auto_tune = false; // the advertised window stays put
    // ACKs delayed from the first segment (RFC 9293 §3.8.6.3); quick-ack mode, the default,
    // has its own traces (trace_quick_ack_test.cpp).
    c.quick_acks = 0;
    return c;
}

class trace final : private tcp::network, public network_stack {
public:
    explicit trace(tcp::config c = trace_config()) : layer(*this, sched, stats, c) {
        app = process::create("app", this);
    }
    ~trace() override {
        app->terminate("test over");
        sched.run(app->join());
    }
    trace(const trace&) = delete;
    trace& operator=(const trace&) = delete;

    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    buffer_pool buffers{{.buffer_size = 2048, .buffer_count = 4096}};
    counter_registry registry;
    tcp::counters stats{registry};
    tcp::layer layer;
    ref<process> app;

    std::deque<seg_out> sent;
    std::uint32_t iss = 0;             // ours, from the SYN we sent (or answered with)
    std::uint16_t local_port = 0;      // ours
    bool passive = false;              // we listened (the peer at peer_port) or connected
    time_point zero{};                 // trace times count from here
    handle conn{};                     // the connection's handle (active open or accepted)
    handle listener{};
    int connect_error = -1;            // -1 while connect() runs
    // Segments send_segment still accepts before refusing with ENOBUFS; those it refused.
    std::size_t tx_room = SIZE_MAX;
    std::size_t tx_refused = 0;
    // The queue has room again: every segment is accepted and the layer is told.
    void room() {
        tx_room = SIZE_MAX;
        layer.transmit_room();
        settle();
    }
    // What route() answers: the MTU and the NIC's offloads.
    tcp::path path{.source = us};
    // The options of the peer's SYN or SYN-ACK in the state builders.
    tcp::options peer_options = mss(1460);

    // --- time ---
    void settle() {
        for (;;) {
            const auto before = sched.stats();
            sched.run_once(false);
            const auto& after = sched.stats();
            if (after.resumed == before.resumed && after.timers_fired == before.timers_fired &&
                after.dpcs_run == before.dpcs_run)
                return;
        }
    }
    // Lets d pass, each timer firing at its own time.
    void run_for(duration d) {
        const time_point target = clock.now() + d;
        for (;;) {
            settle();
            auto next = sched.timers().next_expiry();
            if (!next || *next > target) break;
            if (*next > clock.now()) clock.advance_to(*next);
        }
        clock.advance_to(target);
        settle();
    }
    // Runs to the next timer and fires it (and what is due with it); false when none is armed.
    bool step() {
        settle();
        auto next = sched.timers().next_expiry();
        if (!next) return false;
        if (*next > clock.now()) clock.advance_to(*next);
        settle();
        return true;
    }
    // Fires timer after timer while the connection under test exists (at most `limit`).
    void run_while_open(duration limit = 3600s) {
        const time_point end = clock.now() + limit;
        while (sock() != nullptr && clock.now() < end && step()) {
        }
    }
    // Runs until the next segment leaves (at most `limit`): its time since zero.
    duration run_to_next(duration limit = 3600s) {
        const time_point end = clock.now() + limit;
        while (sent.empty() && clock.now() < end) {
            settle();
            if (!sent.empty()) break;
            auto next = sched.timers().next_expiry();
            if (!next || *next > end) {
                clock.advance_to(end);
                break;
            }
            if (*next > clock.now()) clock.advance_to(*next);
        }
        settle();
        return clock.now() - zero;
    }
    void restart_clock() { zero = clock.now(); }

    // --- the peer ---
    void in(const seg_in& s) { in_raw(s, peer_isn + s.seq, iss + s.ack); }
    // With absolute sequence numbers (an attacker's guess, a new incarnation).
    void in_raw(const seg_in& s, std::uint32_t seq, std::uint32_t ack) {
        in_bytes(bytes_of(s, seq, ack));
    }
    // The segment as bytes (a valid checksum), for a test to damage before in_bytes().
    std::vector<std::byte> bytes_of(const seg_in& s) const {
        return bytes_of(s, peer_isn + s.seq, iss + s.ack);
    }
    // Injects bytes as they are, after `fix_checksum` (when true) made the checksum right
    // again, so that what a test damaged is the only fault.
    void in_bytes(std::vector<std::byte> bytes, bool fix_checksum = false) {
        if (fix_checksum) {
            bytes[tcp::field::checksum] = bytes[tcp::field::checksum + 1] = std::byte{0};
            checksum::partial sum(checksum::pseudo_header_sum(
                them, us, tcp::ip_protocol, static_cast<std::uint16_t>(bytes.size())));
            sum.add(bytes);
            const std::uint16_t c = sum.checksum();
            bytes[tcp::field::checksum] = static_cast<std::byte>(c >> 8);
            bytes[tcp::field::checksum + 1] = static_cast<std::byte>(c);
        }
        auto p = packet::allocate(buffers).value();
        coronet::counter copied;
        p.append(bytes, copied).value();
        layer.input(std::move(p), them, us, false);
        settle();
    }
    std::vector<std::byte> bytes_of(const seg_in& s, std::uint32_t seq, std::uint32_t ack) const {
        tcp::repr r;
        r.source_port = port(passive ? peer_port : server_port);
        r.destination_port = port(passive ? listen_port : local_port);
        r.sequence = seq;
        r.acknowledgment = tcp::has(s.flags, A) ? ack : 0;
        r.flags = s.flags;
        r.window = s.win;
        r.options = s.opts;
        r.urgent_pointer = s.urg;
        r.payload_length = s.len;
        std::vector<std::byte> bytes(r.buffer_len());
        for (std::size_t i = r.header_length(); i < bytes.size(); ++i)
            bytes[i] = static_cast<std::byte>(i * 7);
        tcp::emit(r, bytes, {them, us});
        return bytes;
    }

    // --- what we sent ---
    // The oldest segment not yet looked at, as text ("none" when there is none).
    std::string out() {
        if (sent.empty()) return "none";
        auto s = std::move(sent.front());
        sent.pop_front();
        return describe(s);
    }
    // The oldest segment, parsed (for a field the text leaves out).
    seg_out take() {
        auto s = std::move(sent.front());
        sent.pop_front();
        return s;
    }
    // Every segment not yet looked at, one line each.
    std::string out_all() {
        std::string r;
        while (!sent.empty()) r += out() + "\n";
        return r;
    }
    bool quiet() const { return sent.empty(); }

    std::string describe(const seg_out& s) const {
        std::ostringstream os;
        const auto us_count = std::chrono::duration_cast<std::chrono::microseconds>(s.at).count();
        if (us_count % 1000 == 0)
            os << us_count / 1000 << "ms";
        else
            os << us_count << "us";
        os << " [";
        constexpr std::pair<tcp::flag, char> names[] = {{S, 'S'}, {F, 'F'}, {R, 'R'}, {P, 'P'}, {A, '.'}};
        for (auto [f, c] : names)
            if (tcp::has(s.h.flags, f)) os << c;
        os << "] seq " << static_cast<std::int32_t>(s.h.sequence - iss);
        if (tcp::has(s.h.flags, A)) os << " ack " << static_cast<std::int32_t>(s.h.acknowledgment - peer_isn);
        os << " win " << s.h.window << " len " << s.h.payload_length;
        const auto& o = s.h.options;
        std::vector<std::string> opts;
        if (o.mss) opts.push_back("mss " + std::to_string(*o.mss));
        if (o.window_scale) opts.push_back("ws " + std::to_string(*o.window_scale));
        if (o.sack_permitted) opts.push_back("sackOK");
        if (o.timestamps) opts.push_back("ts");
        for (const auto& b : o.sacks())
            opts.push_back("sack " + std::to_string(b.left - peer_isn) + "-" +
                           std::to_string(b.right - peer_isn));
        if (!opts.empty()) {
            os << " <";
            for (std::size_t i = 0; i < opts.size(); ++i) os << (i ? "," : "") << opts[i];
            os << ">";
        }
        return os.str();
    }

    // --- the connection under test ---
    tcp::socket* sock() const {
        if (passive) return layer.find({us, port(listen_port)}, {them, port(peer_port)});
        return layer.find({us, port(local_port)}, {them, port(server_port)});
    }
    tcp::state state() const {
        auto* s = sock();
        return s ? s->state() : tcp::state::closed;
    }
    std::uint64_t counter(const char* name) const { return registry.read(std::string("tcp.") + name).value(); }

    // --- the application ---
    void connect() {
        app->spawn([this]() -> task<void> {
            auto h = app->socket(socket_type::stream).get().value();
            conn = h;
            auto r = co_await app->connect(h, {them, port(server_port)});
            connect_error = r ? 0 : r.error();
        });
        settle();
    }
    void write(std::size_t n) {
        app->spawn([this, n]() -> task<void> {
            std::vector<std::byte> data(n, std::byte{0x5a});
            (void)co_await app->write_all(conn, data);
        });
        settle();
    }
    // A read of up to 64 KiB in the background: read_result is the byte count or -errno
    // once it returns (INT_MIN while it waits).
    void read() {
        read_result = INT32_MIN;
        app->spawn([this]() -> task<void> {
            std::vector<std::byte> buf(65536);
            auto r = co_await app->read(conn, buf);
            read_result = r ? static_cast<std::int32_t>(*r) : -r.error();
        });
        settle();
    }
    std::int32_t read_result = INT32_MIN;
    void option(socket_option o, std::int64_t v) { (void)app->set_socket_option(conn, o, v).get(); }
    void shutdown_write() { (void)app->shutdown(conn, shutdown_how::write).get(); settle(); }
    void close() { (void)app->close(conn).get(); settle(); }

    // --- states (each ends with nothing unread and the clock restarted) ---
    // SYN-SENT: connect() sent its SYN.
    void syn_sent() {
        connect();
        auto syn = take();
        iss = syn.h.sequence;
        local_port = syn.h.source_port.value();
        restart_clock();
    }
    // ESTABLISHED by active open, nothing negotiated but an MSS of 1460. `rtt`: how long the
    // SYN-ACK takes, the first RTT sample (with none, SRTT is 0 and a tail loss probe's PTO,
    // 2 * SRTT, expires as soon as data leaves).
    void established(duration rtt = {}) {
        syn_sent();
        if (rtt > duration::zero()) run_for(rtt);
        in({.flags = S | A, .seq = 0, .ack = 1, .opts = peer_options});
        (void)take(); // our ACK
        restart_clock();
    }
    // LISTEN on listen_port.
    void listen() {
        passive = true;
        listener = app->listen({ipv4_any, listen_port}).get().value();
        settle();
        restart_clock();
    }
    // SYN-RECEIVED by passive open: the peer's SYN in, our SYN-ACK out.
    void syn_received() {
        listen();
        in({.flags = S, .seq = 0, .opts = peer_options});
        iss = take().h.sequence;
        restart_clock();
    }
    // ESTABLISHED by passive open, accepted.
    void established_passive() {
        syn_received();
        in({.flags = A, .seq = 1, .ack = 1});
        app->spawn([this]() -> task<void> { conn = (co_await app->accept(listener)).value(); });
        settle();
        restart_clock();
    }
    // The states after ESTABLISHED, from an active open or (passive) an accepted one.
    // FIN-WAIT-1: our FIN out (shutdown of the write side; the handle stays open).
    void fin_wait_1(bool from_listen = false) {
        from_listen ? established_passive() : established();
        shutdown_write();
        (void)take();
        restart_clock();
    }
    void fin_wait_2(bool from_listen = false) {
        fin_wait_1(from_listen);
        in({.flags = A, .seq = 1, .ack = 2});
        restart_clock();
    }
    // CLOSING: both FINs crossed, neither acknowledged.
    void closing() {
        fin_wait_1();
        in({.flags = F | A, .seq = 1, .ack = 1});
        (void)take(); // our ACK of its FIN
        restart_clock();
    }
    void time_wait(bool from_listen = false) {
        fin_wait_2(from_listen);
        in({.flags = F | A, .seq = 1, .ack = 2});
        (void)take();
        restart_clock();
    }
    void close_wait() {
        established();
        in({.flags = F | A, .seq = 1, .ack = 1});
        (void)take();
        restart_clock();
    }
    void last_ack() {
        close_wait();
        shutdown_write();
        (void)take();
        restart_clock();
    }

    static tcp::options mss(std::uint16_t m) {
        tcp::options o;
        o.mss = m;
        return o;
    }

    // --- network_stack ---
    std::string_view name() const noexcept override { return "trace"; }
    result<ref<socket_object>> socket(socket_type type) override {
        if (type != socket_type::stream) return error{EPROTONOSUPPORT};
        return layer.open();
    }

private:
    // --- tcp::network ---
    result<tcp::path> route(ipv4_address) override { return path; }
    bool is_local(ipv4_address a) const noexcept override { return a == us; }
    result<> send_segment(packet&& segment, ipv4_address source, ipv4_address destination) override {
        if (tx_room == 0) {
            ++tx_refused;
            return error{ENOBUFS};
        }
        if (tx_room != SIZE_MAX) --tx_room;
        std::vector<std::byte> bytes(segment.length());
        (void)segment.copy_out(0, bytes);
        const auto& offload = segment.meta().offload;
        if (offload.flags & packet_offload::needs_csum) {
            const auto patches = offload_checksum(segment).value();
            for (const auto& patch : patches) bytes[patch.offset] = patch.value;
        }
        auto r = tcp::parse(bytes, {source, destination}); // the checksum too
        if (!r) throw std::logic_error("tcp sent a segment that does not parse");
        const auto hl = r->header_length();
        const std::uint16_t gso = offload.gso_type != packet_offload::gso_none ? offload.gso_size : 0;
        sent.push_back({clock.now() - zero, *r, {bytes.begin() + static_cast<std::ptrdiff_t>(hl), bytes.end()}, gso});
        return {};
    }
    buffer_pool& pool() noexcept override { return buffers; }
};

} // namespace coronet::tcp_trace
