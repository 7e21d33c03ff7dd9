// The memory attacks of issue 10 §2 against the native stack over TAP, with the Linux kernel
// as the attacker (the simulated versions are in tests/protocols/{udp,ipv4,tcp}): a UDP
// flood into a socket nobody reads, and a thousand connections left in FIN-WAIT-2. Meanwhile
// a kernel TCP client fetches from a coronet server on the same stack, byte for byte, and
// once the attack is over the pool is whole again.
#include "drivers/tap/tap_nic.hpp"
#include "protocols/stack/native_stack.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::test::coronet_ip;
using coronet::test::stream_report;
using coronet::test::test_stack;

namespace {

constexpr std::uint16_t fetch_port = 8080;

// Writes `n` bytes of the pattern on `c`, and closes it.
task<void> send_pattern(process& p, handle c, std::uint64_t n) {
    std::vector<std::byte> buf(65536);
    for (std::uint64_t sent = 0; sent < n;) {
        auto piece = std::span(buf).first(std::min<std::uint64_t>(buf.size(), n - sent));
        examples::fill_pattern(piece, sent);
        auto w = co_await p.write_all(c, piece);
        if (!w) break;
        sent += piece.size();
    }
    (void)co_await p.close(c);
}

// coronet's server: every connection on `l` is sent `n` bytes of the pattern, then closed.
task<void> pattern_server(process& p, handle l, std::uint64_t n) {
    for (;;) {
        auto c = co_await p.accept(l);
        if (!c) co_return;
        p.spawn(send_pattern(p, *c, n));
    }
}

// A kernel thread that connects to coronet's pattern server and reads to the end, hashing.
std::thread kernel_fetch(std::uint16_t port, stream_report& r) {
    return std::thread([port, &r] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        test::set_io_timeout(fd, 30);
        auto sa = test::inet(coronet_ip, port);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
            r.error = errno;
            ::close(fd);
        } else {
            test::drain_kernel_socket(fd, r);
        }
        r.done = true;
    });
}

std::uint64_t read_counter(server_context& ctx, const std::string& name) {
    return ctx.counters.read(name).value_or(0);
}

// Waits until the stack's pool has `in_use` buffers in use again (or `limit` passes).
task<std::uint32_t> pool_settles(buffer_pool& pool, std::uint32_t in_use, duration limit = 10s) {
    auto deadline = scheduler::current().now() + limit;
    while (pool.in_use() != in_use && scheduler::current().now() < deadline)
        (void)co_await sleep_for(10ms);
    co_return pool.in_use();
}

// What a UDP flood did: datagrams sent, and the most buffers the socket's queue held.
struct flood_report {
    std::uint64_t sent = 0;
    std::uint64_t most_queued = 0;
};

// Sends `datagrams` zero-length and 1-byte datagrams to coronet's port 9 from `from`, in
// bursts of 100, each burst only once coronet has counted the last one as delivered or
// dropped: so none is lost on the way (in the kernel's TAP queue), and what coronet counts
// is what was sent.
task<void> udp_flood(server_context& ctx,
                     const std::vector<std::unique_ptr<test::kernel_udp>>& from,
                     std::uint64_t datagrams, flood_report& r) {
    const std::vector<char> empty, one{'x'};
    auto arrived = [&] {
        return read_counter(ctx, "udp.in_datagrams") + read_counter(ctx, "udp.rcvbuf_errors");
    };
    const std::uint64_t base = arrived() - r.sent;
    const std::uint64_t target = r.sent + datagrams;
    auto deadline = scheduler::current().now() + 30s;
    while (r.sent < target && scheduler::current().now() < deadline) {
        for (std::uint64_t burst = std::min(r.sent + 100, target); r.sent < burst; ++r.sent)
            if (!from[r.sent % from.size()]->send(r.sent % 2 ? one : empty, coronet_ip, 9)) break;
        while (arrived() - base < r.sent && scheduler::current().now() < deadline)
            (void)co_await sleep_for(1ms);
        r.most_queued = std::max(r.most_queued, read_counter(ctx, "memory.udp_receive_buffers"));
    }
}

} // namespace

TEST_CASE("a flood of 50,000 zero-length and 1-byte datagrams from kernel sockets to a coronet "
          "socket nobody reads pins 104 buffers; a kernel client fetches 1 MiB meanwhile, and "
          "the pool is whole once the socket closes",
          "[integration][tap][memory]") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t file = 1 << 20, datagrams = 50000;
    std::uint32_t in_use_before = 0, in_use_after = 0, in_use_flooded = 0;
    std::uint64_t delivered = 0, dropped = 0, queued_flooded = 0, queued_after = 0;
    std::uint64_t total_after = 0;
    flood_report flood;
    stream_report fetched;
    std::thread fetcher;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        // Received datagrams pin buffers of the NIC's receive pool (the stack's own pool is
        // for what it sends).
        auto& pool = ctx.tap->pool();
        auto l = co_await p.listen({ipv4_any, fetch_port});
        auto u = co_await p.socket(socket_type::datagram);
        if (!l || !u) co_return ctx.finish(1);
        auto bound = co_await p.bind(*u, {ipv4_any, 9});
        if (!bound) co_return ctx.finish(2);
        p.spawn(pattern_server(p, *l, file));
        in_use_before = pool.in_use();
        std::vector<std::unique_ptr<test::kernel_udp>> from;
        for (int i = 0; i < 4; ++i)
            from.push_back(std::make_unique<test::kernel_udp>());
        // The queue full first, then the fetch while the rest of the flood goes on.
        co_await udp_flood(ctx, from, datagrams / 5, flood);
        fetcher = kernel_fetch(fetch_port, fetched);
        co_await udp_flood(ctx, from, datagrams - datagrams / 5, flood);
        (void)co_await test::wait_flag(fetched.done, 30s);
        delivered = read_counter(ctx, "udp.in_datagrams");
        dropped = read_counter(ctx, "udp.rcvbuf_errors");
        queued_flooded = read_counter(ctx, "memory.udp_receive_buffers");
        in_use_flooded = pool.in_use();
        (void)co_await p.close(*u);
        queued_after = read_counter(ctx, "memory.udp_receive_buffers");
        in_use_after = co_await pool_settles(pool, in_use_before);
        total_after = read_counter(ctx, "memory.queued_buffers");
        ctx.finish();
    });
    if (fetcher.joinable()) fetcher.join();
    CHECK(rc == 0);
    CHECK(flood.sent == datagrams);
    // Linux's default 212,992 bytes of receive buffer, charged in whole 2 KiB buffers whatever
    // a datagram's length: 104 of them (a count of bytes would have let in all 50,000).
    CHECK(delivered == 104);
    CHECK(dropped == datagrams - 104);
    CHECK(flood.most_queued == 104);
    CHECK(queued_flooded == 104);
    CHECK(in_use_flooded == in_use_before + 104);
    CHECK(fetched.error == 0);
    CHECK(fetched.bytes == file);
    CHECK(fetched.hash == test::pattern_hash(file));
    CHECK(queued_after == 0);
    CHECK(total_after == 0);
    CHECK(in_use_after == in_use_before);
    WARN("receive pool in use: " << in_use_before << " before the flood, " << in_use_flooded
                                 << " flooded, " << in_use_after << " after the close");
}
