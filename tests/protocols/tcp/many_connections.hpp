#pragma once
// Many concurrent connections between two simulated hosts: `workers` client coroutines open
// `n` connections in all (to `server_ports` listening ports of one server address), each one
// used for a small request and its response and then kept open, until all n are open at once
// (the peak, where memory is read); then every connection is closed by both sides and the
// connection tables empty after TIME-WAIT.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <malloc.h>
#include <set>
#include <string>

namespace coronet::tcp_test {

struct many_outcome {
    std::size_t opened = 0;          // connects that succeeded
    std::size_t answered = 0;        // responses read back intact
    std::size_t served = 0;          // requests the server answered
    std::size_t peak_client = 0;     // connections in a's table at the peak
    std::size_t peak_server = 0;     // and in b's
    std::size_t client_ports = 0;    // distinct local ports the client used
    double heap_per_connection = 0;  // heap bytes in use at the peak over before, per connection
                                     // (both ends: two sockets, two handles)
    std::size_t left_client = 0;     // connections left after closing and 2 MSL
    std::size_t left_server = 0;
    std::uint64_t curr_estab = 0;
    bool pools_back = false;         // every packet buffer back in its pool at the end
    int connect_error = 0;           // the first connect() failure's errno, if any
    int server_error = 0;            // the server's first failure (+1000: in write)
    std::string counters;            // both hosts' counters at the peak, for a failure's message
};

inline many_outcome many_connections(std::size_t n, unsigned server_ports, std::size_t workers) {
    constexpr std::size_t message = 32;
    tcp::config c;
    c.msl = 1s; // TIME-WAIT of 2 s
    sim::host_options o;
    o.stack.tcp = c;
    // Packet buffers per host: with 8,192 the opening burst (requests waiting in accept
    // queues, segments in flight) emptied the server's pool for a moment and write() failed
    // with ENOBUFS, which it returns instead of waiting for buffers.
    o.pool.buffer_count = 32768;
    // ARP settled by one ping from a to b (not the harness's both ways): the figures below
    // were taken so.
    sim::test_network net(
        {.seed = 3, .latency = 100us, .bandwidth_bps = 0, .host = o, .settle_arp = false});
    auto& w = net.world();
    auto& a = net.a();
    auto& b = net.b();
    auto& link = net.link();
    (void)w.run(a.stack().ping(b_addr));
    auto server = b.create_process("server");
    auto client = a.create_process("client");
    process* sp = server.get();
    process* cp = client.get();
    many_outcome out;
    std::vector<handle> client_conns, server_conns;
    client_conns.reserve(n);
    server_conns.reserve(n);
    const auto a_pool = a.pool().in_use();
    const auto b_pool = b.pool().in_use();
    const auto heap_before = mallinfo2().uordblks;

    // The server: `workers` acceptors per port, each answering a request with its bytes
    // reversed, then keeping the connection.
    std::vector<handle> listeners;
    for (unsigned p = 0; p < server_ports; ++p)
        listeners.push_back(sp->listen({ipv4_any, static_cast<std::uint16_t>(80 + p)},
                                       {.backlog = static_cast<int>(workers)})
                                .get()
                                .value());
    for (unsigned p = 0; p < server_ports; ++p) {
        for (std::size_t i = 0; i < workers / server_ports + 1; ++i) {
            sp->spawn([&, ls = listeners[p]]() -> task<void> {
                while (out.served < n) {
                    auto h = co_await sp->accept(ls);
                    if (!h) co_return;
                    std::array<std::byte, message> buf;
                    auto r = co_await sp->read_exactly(*h, buf);
                    if (!r) {
                        if (out.server_error == 0) out.server_error = r.error();
                        co_return;
                    }
                    std::reverse(buf.begin(), buf.end());
                    auto wr = co_await sp->write_all(*h, buf);
                    if (!wr) {
                        if (out.server_error == 0) out.server_error = 1000 + wr.error();
                        co_return;
                    }
                    ++out.served;
                    server_conns.push_back(*h);
                }
            });
        }
    }
    // The clients: each worker opens its share one after another, keeping every connection.
    for (std::size_t i = 0; i < workers; ++i) {
        const std::size_t share = n / workers + (i < n % workers ? 1 : 0);
        cp->spawn([&, i, share]() -> task<void> {
            const endpoint to{b_addr, static_cast<std::uint16_t>(80 + i % server_ports)};
            for (std::size_t k = 0; k < share; ++k) {
                auto h = co_await cp->connect(to);
                if (!h) {
                    if (out.connect_error == 0) out.connect_error = h.error();
                    co_return;
                }
                ++out.opened;
                client_conns.push_back(*h);
                auto request = pattern(message, static_cast<std::uint32_t>(i * 100'003 + k));
                if (!co_await cp->write_all(*h, request)) co_return;
                std::array<std::byte, message> reply;
                if (!co_await cp->read_exactly(*h, reply)) co_return;
                std::reverse(request.begin(), request.end());
                if (std::equal(reply.begin(), reply.end(), request.begin())) ++out.answered;
            }
        });
    }
    w.run_until([&] { return out.answered == n && out.served == n; }, 3600s);
    w.run_for(1s); // the last ACKs settle

    // The peak: every connection open at once.
    out.heap_per_connection =
        static_cast<double>(mallinfo2().uordblks - heap_before) / static_cast<double>(n);
    out.peak_client = a.stack().tcp().connection_count();
    out.peak_server = b.stack().tcp().connection_count();
    std::set<std::uint16_t> ports;
    for (handle h : client_conns)
        if (auto e = cp->get_socket_name(h).get()) ports.insert(e->port.value());
    out.client_ports = ports.size();
    out.counters = "a:\n" + a.counters_text() + "b:\n" + b.counters_text() + "wire:\n" + link.registry().dump();

    // Both sides close everything, `workers` at a time (a burst of 100,000 FINs would
    // overflow the wire's 1,000-frame queue and wait out retransmissions); the client, closing
    // first, then waits out TIME-WAIT.
    auto close_all = [&](process& p, const std::vector<handle>& hs) {
        for (std::size_t i = 0; i < hs.size(); ++i) {
            (void)p.close(hs[i]).get();
            if (i % workers == workers - 1) w.run_for(1ms);
        }
    };
    close_all(*cp, client_conns);
    w.run_for(1s);
    close_all(*sp, server_conns);
    for (handle h : listeners) (void)sp->close(h).get();
    w.run_for(30s);
    out.left_client = a.stack().tcp().connection_count();
    out.left_server = b.stack().tcp().connection_count();
    out.curr_estab = a.counters().read("tcp.curr_estab").value() + b.counters().read("tcp.curr_estab").value();
    server->terminate("test over");
    client->terminate("test over");
    w.run(server->join());
    w.run(client->join());
    out.pools_back = a.pool().in_use() == a_pool && b.pool().in_use() == b_pool;
    return out;
}

// What both many-connection tests expect of `n` connections: all opened, used and open at
// once, at most 2 KiB per idle socket (two sockets per connection), all gone at the end.
inline void check_many(const many_outcome& r, std::size_t n) {
    std::printf("%zu connections: %.0f heap bytes per connection (both ends), %zu client ports\n", n,
                r.heap_per_connection, r.client_ports);
    INFO(r.counters);
    CHECK(r.connect_error == 0);
    CHECK(r.server_error == 0);
    CHECK(r.opened == n);
    CHECK(r.served == n);
    CHECK(r.answered == n);
    CHECK(r.peak_client == n);
    CHECK(r.peak_server == n);
    CHECK(r.heap_per_connection <= 2 * 2048.0);
    CHECK(r.left_client == 0);
    CHECK(r.left_server == 0);
    CHECK(r.curr_estab == 0);
    CHECK(r.pools_back);
}

} // namespace coronet::tcp_test
