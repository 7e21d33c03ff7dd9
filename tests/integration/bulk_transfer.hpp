#pragma once
// Bulk TCP both ways at once between coronet's native stack on a TAP device and kernel
// sockets in the test's namespace: coronet connects to a kernel sink (10.0.0.1:5001) and
// sends n bytes of the pattern, while a kernel source connects to coronet (10.0.0.2:5002)
// and sends n bytes the other way. Each receiver hashes what it got; the test compares both
// with the pattern's hash. Used by tcp_kernel_test (small) and tcp_kernel_slow_test (256 MiB).
#include "framework/coronet.hpp"
#include "drivers/tap/tap_nic.hpp"

#include <linux/if_tun.h>
#include "protocols/stack/launch.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <chrono>
#include <optional>

namespace coronet::test {

struct bulk_outcome {
    int rc = -1;                 // run_server's
    stream_report at_kernel;     // what the kernel sink read (coronet -> kernel)
    stream_report from_kernel;   // what the kernel source sent (kernel -> coronet)
    std::uint64_t native_got = 0;  // bytes coronet read
    std::uint64_t native_hash = 0; // and their hash
    int native_send_error = 0;
    int native_receive_error = 0;
    double seconds = 0; // both directions, wall clock
    std::uint64_t retransmits = 0; // by coronet, any cause (timers included)
    // Repairs of a hole the receiver reported (fast retransmissions, recoveries) by coronet:
    // on a lossless link there is none, while a timer may still fire on a loaded machine.
    std::uint64_t loss_repairs = 0;
    std::uint64_t frames_lost = 0;        // by injected faults, both directions
    std::uint64_t kernel_retransmits = 0; // the kernel's, during the run (Tcp RetransSegs)
    bool large_receive = false;    // the kernel took TUN_F_TSO4: it may send 64 KiB segments
    std::uint64_t rx_copied = 0;   // small frames copied out of their receive buffers
    bool capture_started = false;
    command_output capture; // tcpdump's status and messages
};

inline std::uint64_t kernel_retransmits() {
    return kernel_net_counters("/proc/net/snmp", "Tcp:", {"RetransSegs"});
}

// coronet's sending side: connect, write n bytes of the pattern, close.
inline task<int> native_source(process& p, std::uint64_t n) {
    auto c = co_await p.connect({kernel_ip, 5001});
    if (!c) co_return c.error();
    std::vector<std::byte> buf(65536);
    int err = 0;
    for (std::uint64_t sent = 0; sent < n && err == 0;) {
        auto piece = std::span(buf).first(std::min<std::uint64_t>(buf.size(), n - sent));
        examples::fill_pattern(piece, sent);
        auto w = co_await p.write_all(*c, piece);
        if (!w) err = w.error();
        sent += piece.size();
    }
    (void)co_await p.close(*c);
    co_return err;
}

// coronet's receiving side: accept one connection on `listener`, read it to its end, hash.
inline task<int> native_sink(process& p, handle listener, bulk_outcome& o) {
    auto c = co_await p.accept(listener);
    if (!c) co_return c.error();
    std::vector<std::byte> buf(65536);
    examples::fnv1a h;
    int err = 0;
    for (;;) {
        auto r = co_await p.read(*c, buf);
        if (!r) err = r.error();
        if (!r || *r == 0) break;
        h.update(std::span(buf).first(*r));
        o.native_got += *r;
    }
    o.native_hash = h.value();
    (void)co_await p.close(*c);
    co_return err;
}

// With `pcap` set, tcpdump captures the kernel's end of the TAP during the transfer.
inline bulk_outcome bulk_both_ways(const stack_options& opts, std::uint64_t n,
                                   const std::string& pcap = {}) {
    bulk_outcome o;
    kernel_listener sink_listener(5001);
    REQUIRE(sink_listener.ok());
    std::thread sink = kernel_sink(sink_listener, o.at_kernel);
    std::thread source;
    const auto kernel_before = kernel_retransmits();
    auto start = std::chrono::steady_clock::now();
    o.rc = run_server(opts, [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        std::optional<kernel_capture> dump;
        if (!pcap.empty()) {
            dump.emplace(ctx.tap->name(), pcap);
            o.capture_started = co_await dump->started();
        }
        auto l = co_await p.listen({ipv4_any, 5002});
        if (!l) {
            o.native_receive_error = l.error();
            co_return ctx.finish(1);
        }
        source = kernel_source(5002, n, o.from_kernel);
        // (Named tasks: g++ 12 destroys a temporary twice in a co_await expression with a
        // conditional operator in it.)
        task<int> sending = native_source(p, n);
        task<int> receiving = native_sink(p, *l, o);
        auto errors = co_await when_all(std::move(sending), std::move(receiving));
        o.native_send_error = std::get<0>(errors);
        o.native_receive_error = std::get<1>(errors);
        (void)co_await wait_flag(o.at_kernel.done);
        (void)co_await wait_flag(o.from_kernel.done);
        o.retransmits = ctx.counters.read("tcp.retrans_segs").value_or(0);
        o.loss_repairs = ctx.counters.read("tcp.fast_retransmits").value_or(0) +
                         ctx.counters.read("tcp.recoveries").value_or(0);
        for (const char* way : {"_rx_faults.lost", "_tx_faults.lost"})
            o.frames_lost += ctx.counters.read(ctx.tap->name() + way).value_or(0);
        o.large_receive = (ctx.tap->kernel_offloads() & TUN_F_TSO4) != 0;
        o.rx_copied = ctx.counters.read(ctx.tap->name() + ".rx_copied").value_or(0);
        if (dump) o.capture = co_await dump->stop();
        ctx.finish();
    });
    sink.join();
    if (source.joinable()) source.join();
    o.kernel_retransmits = kernel_retransmits() - kernel_before;
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return o;
}

// Under injected loss: frames were lost, and one side or the other retransmitted (with TSO,
// coronet sends few enough frames that none of its own may be among the lost; check_bulk
// says they were all recovered from).
inline void check_loss_recovered(const bulk_outcome& o) {
    INFO("frames lost " << o.frames_lost << ", retransmissions by coronet " << o.retransmits
                        << ", by the kernel " << o.kernel_retransmits);
    CHECK(o.frames_lost > 0);
    CHECK(o.retransmits + o.kernel_retransmits > 0);
}

// The checks every bulk run makes: both ways complete, byte-exact, no error on either side.
inline void check_bulk(const bulk_outcome& o, std::uint64_t n) {
    const std::uint64_t want = pattern_hash(n);
    INFO("coronet -> kernel: " << o.at_kernel.bytes << " bytes, kernel errno " << o.at_kernel.error
                               << ", coronet errno " << o.native_send_error);
    INFO("kernel -> coronet: " << o.native_got << " bytes, kernel errno " << o.from_kernel.error
                               << ", coronet errno " << o.native_receive_error);
    INFO("retransmissions by coronet: " << o.retransmits << ", " << o.seconds << " s");
    CHECK(o.rc == 0);
    CHECK(o.native_send_error == 0);
    CHECK(o.native_receive_error == 0);
    CHECK(o.at_kernel.error == 0);
    CHECK(o.from_kernel.error == 0);
    CHECK(o.at_kernel.bytes == n);
    CHECK(o.at_kernel.hash == want);
    CHECK(o.native_got == n);
    CHECK(o.native_hash == want);
    CHECK(o.from_kernel.hash == want);
}

} // namespace coronet::test
