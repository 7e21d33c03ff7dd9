// The memory attacks of issue 10 §2 against the native stack over TAP, with the Linux kernel
// as the attacker (the simulated versions are in tests/protocols/{udp,ipv4,tcp}): a UDP
// flood into a socket nobody reads, first fragments of datagrams that never complete, and a
// thousand connections left in FIN-WAIT-2. Meanwhile a kernel TCP client fetches from a coronet
// server on the same stack, byte for byte, and once the attack is over the pools are whole again.
#include "drivers/tap/tap_nic.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/stack/native_stack.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
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

// Reads a request of `request` bytes on `c` (adding what arrives to `received`), then sends
// `n` bytes of the pattern and closes; closes at once if the read fails (the peer is gone).
task<void> answer_request(process& p, handle c, std::size_t request, std::uint64_t n,
                          std::uint64_t& received) {
    std::vector<std::byte> buf(request);
    for (std::size_t got = 0; got < request;) {
        auto r = co_await p.read(c, std::span(buf).subspan(got));
        if (!r || *r == 0) {
            (void)co_await p.close(c);
            co_return;
        }
        got += *r;
        received += *r;
    }
    co_await send_pattern(p, c, n);
}

// coronet's server of requests: every connection on `l` is answered as answer_request says.
task<void> request_server(process& p, handle l, std::size_t request, std::uint64_t n,
                          std::uint64_t& received) {
    for (;;) {
        auto c = co_await p.accept(l);
        if (!c) co_return;
        p.spawn(answer_request(p, *c, request, n, received));
    }
}

// A kernel thread that connects to coronet's pattern server, sends `request`, and reads to
// the end, hashing.
std::thread kernel_fetch(std::uint16_t port, stream_report& r, std::string request = {}) {
    return std::thread([port, &r, request = std::move(request)] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        test::set_io_timeout(fd, 30);
        auto sa = test::inet(coronet_ip, port);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
            ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(request.size())) {
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

// Waits until `pool` has `in_use` buffers in use again (or `limit` passes).
task<std::uint32_t> pool_settles(buffer_pool& pool, std::uint32_t in_use, duration limit = 10s) {
    auto deadline = scheduler::current().now() + limit;
    while (pool.in_use() != in_use && scheduler::current().now() < deadline)
        (void)co_await sleep_for(10ms);
    co_return pool.in_use();
}

// A flood from the kernel of which nothing is lost on the way: send(i) sends packet i (false
// if the kernel refused it: it is sent again), in bursts of 100, each only once coronet has
// accounted for all before it (accounted(): how many it counted as kept, dropped or
// discarded), so the kernel's TAP queue never overflows and what coronet counts is what was
// sent. The first burst is of one packet, which waits in the kernel until coronet's address
// is resolved (that queue holds less than 100 of them). after() runs after each burst.
// `sent` counts on over calls; false if the flood did not end within `limit`.
struct paced_flood {
    std::function<bool(std::uint64_t)> send;
    std::function<std::uint64_t()> accounted;
    std::function<void()> after = [] {};
    std::uint64_t sent = 0;

    task<bool> run(std::uint64_t n, duration limit = 20s) {
        const std::uint64_t target = sent + n;
        auto deadline = scheduler::current().now() + limit;
        while (sent < target) {
            if (scheduler::current().now() > deadline) co_return false;
            const auto burst = std::min(target, sent == 0 ? 1 : sent + 100);
            while (sent < burst && send(sent))
                ++sent;
            while (accounted() < sent) {
                if (scheduler::current().now() > deadline) co_return false;
                (void)co_await sleep_for(1ms);
            }
            after();
            if (sent < burst) (void)co_await sleep_for(1ms); // refused: a pause, then again
        }
        co_return true;
    }
};

// A raw kernel socket (IPPROTO_RAW: IP_HDRINCL) writing IPv4 packets whose header the test builds:
// the first fragments of datagrams that never complete, from any source address of the namespace.
class kernel_fragment_sender {
public:
    kernel_fragment_sender() : fd_(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) {}
    ~kernel_fragment_sender() { ::close(fd_); }
    kernel_fragment_sender(const kernel_fragment_sender&) = delete;
    kernel_fragment_sender& operator=(const kernel_fragment_sender&) = delete;
    bool ok() const noexcept { return fd_ >= 0; }
    // Fragment zero of UDP datagram `id` from `source`, with `length` bytes (a multiple of
    // 8) of its payload and more fragments to come.
    bool send_first(ipv4_address source, std::uint16_t id, std::uint16_t length) const {
        std::vector<std::byte> p(ipv4::min_header_length + length);
        ipv4::emit({.source = source,
                    .destination = coronet_ip,
                    .protocol = ipv4::protocol::udp,
                    .identification = id,
                    .dont_fragment = false,
                    .more_fragments = true,
                    .payload_length = length},
                   p);
        examples::fill_pattern(std::span(p).subspan(ipv4::min_header_length), id);
        auto to = test::inet(coronet_ip, 0);
        return ::sendto(fd_, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                        sizeof to) == static_cast<ssize_t>(p.size());
    }

private:
    int fd_;
};

// Kernel TCP sockets of this namespace (/proc/net/tcp) connected to coronet's `port` and in
// Linux state `st` (8: CLOSE_WAIT), or in any state (0).
std::size_t kernel_sockets_to(std::uint16_t port, int st = 0) {
    std::ifstream f("/proc/net/tcp");
    std::string line, slot, local, remote, state;
    char want[8];
    std::snprintf(want, sizeof want, ":%04X", port);
    std::size_t n = 0;
    std::getline(f, line); // the header
    while (std::getline(f, line)) {
        std::istringstream in(line);
        in >> slot >> local >> remote >> state;
        if (remote.size() >= 5 && remote.compare(remote.size() - 5, 5, want) == 0 &&
            (st == 0 || std::stoi(state, nullptr, 16) == st))
            ++n;
    }
    return n;
}

// Connections of coronet's stack in `state` ("FIN-WAIT-2"), from its connection table.
std::size_t coronet_connections(server_context& ctx, std::string_view state) {
    std::istringstream table(ctx.native->tcp().connection_table());
    std::string line;
    std::size_t n = 0;
    while (std::getline(table, line))
        n += line.rfind(state, 0) == 0 && line.size() > state.size() && line[state.size()] == ' ';
    return n;
}

// Kernel sockets that connect to coronet and never close until told to.
struct kernel_idlers {
    std::vector<int> fds;
    ~kernel_idlers() { close_all(); }
    bool connect(std::uint16_t port, std::optional<ipv4_address> source = std::nullopt) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        if (source && !test::bind_source(fd, *source)) {
            ::close(fd);
            return false;
        }
        auto sa = test::inet(coronet_ip, port);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
            errno != EINPROGRESS) {
            ::close(fd);
            return false;
        }
        fds.push_back(fd);
        return true;
    }
    // Closes them all: with a FIN where what they were sent has been read, else (Linux) with
    // a RST.
    void close_all() {
        for (int fd : fds)
            ::close(fd);
        fds.clear();
    }
};

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
    paced_flood flood;
    std::uint64_t most_queued = 0;
    bool flooded = false;
    stream_report fetched;
    std::thread fetcher;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        // Received datagrams pin buffers of the NIC's receive pool, or, small as they are, of
        // the pool they are copied into (the stack's own pool is for what it sends).
        auto& pool = ctx.tap->pool_for_frame(64);
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
        const std::vector<char> empty, one{'x'};
        flood.send = [&](std::uint64_t i) {
            return from[i % from.size()]->send(i % 2 ? one : empty, coronet_ip, 9);
        };
        flood.accounted = [&] {
            return read_counter(ctx, "udp.in_datagrams") + read_counter(ctx, "udp.rcvbuf_errors");
        };
        flood.after = [&] {
            most_queued = std::max(most_queued, read_counter(ctx, "memory.udp_receive_buffers"));
        };
        // The queue full first, then the fetch while the rest of the flood goes on.
        flooded = co_await flood.run(datagrams / 5);
        fetcher = kernel_fetch(fetch_port, fetched);
        const bool rest = co_await flood.run(datagrams - datagrams / 5);
        flooded = flooded && rest;
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
    CHECK(flooded);
    CHECK(flood.sent == datagrams);
    // Linux's default 212,992 bytes of receive buffer, charged in whole 2 KiB buffers whatever
    // a datagram's length: 104 of them (a count of bytes would have let in all 50,000).
    CHECK(delivered == 104);
    CHECK(dropped == datagrams - 104);
    CHECK(most_queued == 104);
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

TEST_CASE("4,000 first fragments that never complete, from eight kernel addresses, hold no more "
          "than reassembly's share of the budget; a kernel client fetches 1 MiB meanwhile, and "
          "once they time out the pool is whole",
          "[integration][tap][memory]") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t file = 1 << 20;
    constexpr int datagrams = 4000, sources = 8;
    auto opts = test_stack();
    opts.reassembly_timeout = 3s; // (Linux's and the default: 30 s)
    std::uint32_t rx_before = 0, rx_after = 0, tx_before = 0, tx_after = 0;
    std::uint64_t most_held = 0, held_after = 0, total_after = 0, left = 0, left_after = 0;
    std::uint32_t pressure = 0, low = 0;
    std::uint64_t sent = 0;
    bool addressed = true, raw_ok = false, flooded = false;
    std::map<std::string, std::uint64_t> c;
    stream_report fetched;
    std::thread fetcher;
    int rc = run_server(opts, [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        auto& rx = ctx.tap->pool_for_frame(1514); // a fragment is an MTU frame: where it is held
        auto& tx = ctx.native->pool();
        pressure = ctx.native->memory()->limits().pressure;
        low = ctx.native->memory()->limits().low;
        auto l = co_await p.listen({ipv4_any, fetch_port});
        if (!l) co_return ctx.finish(1);
        p.spawn(pattern_server(p, *l, file));
        test::kernel_addresses from(ctx.tap->name(), sources);
        addressed = from.ok();
        kernel_fragment_sender raw;
        raw_ok = raw.ok();
        rx_before = rx.in_use();
        tx_before = tx.in_use();
        // Each fragment ends up held, discarded (evicted) or dropped at the door.
        auto& reassembly = ctx.native->reassembly();
        paced_flood flood{
            .send =
                [&](std::uint64_t i) {
                    return raw.send_first(from[i], static_cast<std::uint16_t>(i), 1000);
                },
            .accounted =
                [&] {
                    return read_counter(ctx, "ipv4.reasm_fails") +
                           read_counter(ctx, "ipv4.reasm_pressure_drops") + reassembly.datagrams();
                },
            .after =
                [&] {
                    most_held =
                        std::max(most_held, read_counter(ctx, "memory.ipv4_reassembly_buffers"));
                }};
        if (!raw_ok) co_return ctx.finish(2);
        flooded = co_await flood.run(datagrams / 4);
        fetcher = kernel_fetch(fetch_port, fetched);
        const bool rest = co_await flood.run(datagrams - datagrams / 4);
        flooded = flooded && rest;
        sent = flood.sent;
        (void)co_await test::wait_flag(fetched.done, 30s);
        left = reassembly.datagrams();
        // Those left time out; the ICMP time exceeded messages they cause go out and are freed.
        auto deadline = scheduler::current().now() + 10s;
        while (reassembly.datagrams() != 0 && scheduler::current().now() < deadline)
            (void)co_await sleep_for(10ms);
        left_after = reassembly.datagrams();
        rx_after = co_await pool_settles(rx, rx_before);
        tx_after = co_await pool_settles(tx, tx_before);
        held_after = read_counter(ctx, "memory.ipv4_reassembly_buffers");
        total_after = read_counter(ctx, "memory.queued_buffers");
        for (const char* n : {"ipv4.reasm_fails", "ipv4.reasm_pressure_drops",
                              "ipv4.reasm_pressure_evictions", "ipv4.reasm_memory_evictions",
                              "ipv4.reasm_timeout", "ipv4.reasm_oks", "ipv4.reasm_reqds"})
            c[n] = read_counter(ctx, n);
        ctx.finish();
    });
    if (fetcher.joinable()) fetcher.join();
    CHECK(rc == 0);
    CHECK(addressed);
    REQUIRE(raw_ok);
    CHECK(flooded);
    CHECK(sent == datagrams);
    CHECK(c["ipv4.reasm_reqds"] == static_cast<std::uint64_t>(datagrams));
    // The flood filled reassembly's share of the budget, and no more: 4,000 fragments of one
    // 2 KiB buffer each would have been 4,000 buffers; the byte cap (4 MiB) never bound.
    INFO("budget: low " << low << ", pressure " << pressure << "; reassembly held " << most_held
                        << " at the most, " << left << " datagrams when the flood ended");
    CHECK(most_held > low);
    CHECK(most_held <= pressure);
    CHECK(c["ipv4.reasm_pressure_evictions"] > 0);
    CHECK(c["ipv4.reasm_memory_evictions"] == 0);
    CHECK(c["ipv4.reasm_oks"] == 0);
    // Every datagram begun was discarded once: evicted, or timed out.
    CHECK(c["ipv4.reasm_fails"] + c["ipv4.reasm_pressure_drops"] ==
          static_cast<std::uint64_t>(datagrams));
    CHECK(c["ipv4.reasm_timeout"] == left);
    CHECK(fetched.error == 0);
    CHECK(fetched.bytes == file);
    CHECK(fetched.hash == test::pattern_hash(file));
    CHECK(left_after == 0);
    CHECK(held_after == 0);
    CHECK(total_after == 0);
    CHECK(rx_after == rx_before);
    CHECK(tx_after == tx_before);
    WARN("reassembly held " << most_held << " buffers at the most (pressure " << pressure << "), "
                            << c["ipv4.reasm_pressure_evictions"] << " evicted, " << left
                            << " timed out");
}

TEST_CASE("1,000 kernel sockets that never close leave coronet's server in FIN-WAIT-2 with "
          "nothing pinned; a new client is still served, and once they close every connection "
          "is released",
          "[integration][tap][memory]") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t response = 100;
    constexpr int idlers = 1000;
    constexpr int close_wait = 8; // Linux's TCP_CLOSE_WAIT in /proc/net/tcp
    std::uint32_t rx_before = 0, tx_before = 0, rx_idle = 0, tx_idle = 0, rx_after = 0,
                  tx_after = 0;
    std::size_t fin_wait_2 = 0, in_close_wait = 0, fin_wait_2_after = 0, kernel_left = 0;
    std::size_t time_wait_after = 0;
    std::uint64_t estab_idle = 0, estab_after = 0, queued_idle = 0, queued_after = 0;
    std::uint64_t drained = 0;
    bool connected = false;
    stream_report fetched;
    std::thread fetcher;
    kernel_idlers idle;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        auto& rx = ctx.tap->pool_for_frame(1514); // MTU-sized frames or smaller: where they are held
        auto& tx = ctx.native->pool();
        auto l = co_await p.listen({ipv4_any, fetch_port}, {.backlog = 256});
        if (!l) co_return ctx.finish(1);
        p.spawn(pattern_server(p, *l, response));
        rx_before = rx.in_use();
        tx_before = tx.in_use();
        // Each is sent its response and coronet's FIN, which the kernel acknowledges: the
        // socket is in CLOSE_WAIT, coronet's end in FIN-WAIT-2.
        paced_flood connects{
            .send = [&](std::uint64_t) { return idle.connect(fetch_port); },
            .accounted = [&] { return kernel_sockets_to(fetch_port, close_wait); }};
        connected = co_await connects.run(idlers);
        auto deadline = scheduler::current().now() + 10s;
        while (coronet_connections(ctx, "FIN-WAIT-2") < idlers &&
               scheduler::current().now() < deadline)
            (void)co_await sleep_for(10ms);
        in_close_wait = kernel_sockets_to(fetch_port, close_wait);
        fin_wait_2 = coronet_connections(ctx, "FIN-WAIT-2");
        estab_idle = read_counter(ctx, "tcp.curr_estab");
        queued_idle = read_counter(ctx, "memory.queued_buffers");
        rx_idle = co_await pool_settles(rx, rx_before);
        tx_idle = co_await pool_settles(tx, tx_before);

        fetcher = kernel_fetch(fetch_port, fetched);
        (void)co_await test::wait_flag(fetched.done, 30s);

        // They read what they were sent (so Linux closes with a FIN, not a RST) and close.
        char buf[256];
        for (int fd : idle.fds)
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
                drained += static_cast<std::uint64_t>(n);
        idle.close_all();
        deadline = scheduler::current().now() + 10s;
        while (kernel_sockets_to(fetch_port) != 0 && scheduler::current().now() < deadline)
            (void)co_await sleep_for(10ms);
        kernel_left = kernel_sockets_to(fetch_port);
        fin_wait_2_after = coronet_connections(ctx, "FIN-WAIT-2");
        time_wait_after = coronet_connections(ctx, "TIME-WAIT");
        estab_after = read_counter(ctx, "tcp.curr_estab");
        queued_after = read_counter(ctx, "memory.queued_buffers");
        rx_after = co_await pool_settles(rx, rx_before);
        tx_after = co_await pool_settles(tx, tx_before);
        ctx.finish();
    });
    if (fetcher.joinable()) fetcher.join();
    CHECK(rc == 0);
    CHECK(connected);
    CHECK(in_close_wait == idlers);
    CHECK(fin_wait_2 == idlers);
    // FIN-WAIT-2 holds nothing: what was sent is acknowledged, and nothing is queued.
    CHECK(estab_idle == 0);
    CHECK(queued_idle == 0);
    CHECK(rx_idle == rx_before);
    CHECK(tx_idle == tx_before);
    CHECK(fetched.error == 0);
    CHECK(fetched.bytes == response);
    CHECK(fetched.hash == test::pattern_hash(response));
    CHECK(drained == idlers * response);
    // Each FIN answered: no kernel socket left (in LAST_ACK), none of coronet's in
    // FIN-WAIT-2; what is left is TIME-WAIT, which holds no buffer.
    CHECK(kernel_left == 0);
    CHECK(fin_wait_2_after == 0);
    CHECK(estab_after == 0);
    CHECK(queued_after == 0);
    CHECK(rx_after == rx_before);
    CHECK(tx_after == tx_before);
    WARN(fin_wait_2 << " connections in FIN-WAIT-2; after the kernel's close " << time_wait_after
                    << " in TIME-WAIT");
}

TEST_CASE("1,000 half-open connections, from kernel sockets whose addresses vanished after a "
          "partial request, hold nothing once coronet's keepalive ends them; a new client is "
          "served meanwhile, and the pool is whole",
          "[integration][tap][memory]") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t response = 100;
    constexpr int idlers = 1000, sources = 8;
    constexpr std::size_t request = 16, partial = 8; // the idlers send half of their request
    std::uint32_t rx_before = 0, tx_before = 0, rx_after = 0, tx_after = 0;
    std::size_t estab_idle = 0, estab_after = 0;
    std::uint64_t received = 0, received_idle = 0, sent_partial = 0, curr_estab_after = 0,
                  queued_after = 0;
    std::uint64_t probes = 0, icmp_in = 0;
    test::kernel_replies kernel;
    bool addressed = false, connected = false, removed = false;
    stream_report fetched;
    std::thread fetcher;
    kernel_idlers idle;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        auto& rx = ctx.tap->pool_for_frame(1514); // MTU-sized frames or smaller: where they are held
        auto& tx = ctx.native->pool();
        auto l = co_await p.listen({ipv4_any, fetch_port}, {.backlog = 256});
        if (!l) co_return ctx.finish(1);
        // Accepted connections inherit these: after 1 s of silence, two probes a second
        // apart, then the connection ends (ETIMEDOUT).
        for (auto [o, v] : {std::pair{socket_option::keep_alive, 1},
                            {socket_option::keep_idle, 1},
                            {socket_option::keep_interval, 1},
                            {socket_option::keep_count, 2}}) {
            auto set = co_await p.set_socket_option(*l, o, v);
            if (!set) co_return ctx.finish(2);
        }
        p.spawn(request_server(p, *l, request, response, received));
        rx_before = rx.in_use();
        tx_before = tx.in_use();
        test::kernel_addresses from(ctx.tap->name(), sources);
        addressed = from.ok();
        paced_flood connects{
            .send = [&](std::uint64_t i) { return idle.connect(fetch_port, from[i]); },
            .accounted = [&] { return coronet_connections(ctx, "ESTABLISHED"); }};
        connected = co_await connects.run(idlers);
        const std::string half(partial, 'G');
        for (int fd : idle.fds)
            sent_partial += ::send(fd, half.data(), half.size(), MSG_NOSIGNAL) ==
                            static_cast<ssize_t>(half.size());
        auto deadline = scheduler::current().now() + 10s;
        while (received < idlers * partial && scheduler::current().now() < deadline)
            (void)co_await sleep_for(10ms);
        const test::kernel_replies before;
        from.remove();
        removed = from.ok();
        estab_idle = coronet_connections(ctx, "ESTABLISHED");
        received_idle = received;

        fetcher = kernel_fetch(fetch_port, fetched, std::string(request, 'G'));
        (void)co_await test::wait_flag(fetched.done, 30s);

        deadline = scheduler::current().now() + 15s;
        while (coronet_connections(ctx, "ESTABLISHED") != 0 &&
               scheduler::current().now() < deadline)
            (void)co_await sleep_for(10ms);
        estab_after = coronet_connections(ctx, "ESTABLISHED");
        curr_estab_after = read_counter(ctx, "tcp.curr_estab");
        probes = read_counter(ctx, "tcp.keepalive_probes");
        icmp_in = read_counter(ctx, "icmp.in_msgs");
        kernel = before.since();
        rx_after = co_await pool_settles(rx, rx_before);
        tx_after = co_await pool_settles(tx, tx_before);
        queued_after = read_counter(ctx, "memory.queued_buffers");
        ctx.finish();
    });
    if (fetcher.joinable()) fetcher.join();
    CHECK(rc == 0);
    CHECK(addressed);
    CHECK(connected);
    CHECK(sent_partial == idlers);
    CHECK(received_idle == idlers * partial);
    CHECK(received == idlers * partial + request);
    CHECK(removed);
    CHECK(estab_idle == idlers);
    CHECK(fetched.error == 0);
    CHECK(fetched.bytes == response);
    CHECK(fetched.hash == test::pattern_hash(response));
    // The peers vanished silently: the kernel dropped coronet's probes (at least two for each),
    // answering none with a RST or an ICMP error; each was probed twice, then ended.
    CHECK(kernel.rsts == 0);
    CHECK(kernel.icmp == 0);
    CHECK(icmp_in == 0);
    CHECK(kernel.dropped >= 2 * idlers);
    CHECK(probes == 2 * idlers);
    CHECK(estab_after == 0);
    CHECK(curr_estab_after == 0);
    CHECK(queued_after == 0);
    CHECK(rx_after == rx_before);
    CHECK(tx_after == tx_before);
    WARN(estab_idle << " half-open connections; " << probes << " keepalive probes, "
                    << kernel.dropped << " packets dropped by the kernel");
}
