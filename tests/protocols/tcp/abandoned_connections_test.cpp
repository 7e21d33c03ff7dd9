// Connections by the thousand that their peers abandon, while a well-behaved client
// downloads from the same server: what each pins stays bounded, the client is served, and
// once the stack has given up on the abandoned ones (retransmissions exhausted, or the
// FIN-WAIT-2 timeout) the server's pool is whole again.
//   half-open:  each attacker asks, gets 1 KiB, and vanishes (its link loses everything);
//               the server closes its idle connections and holds each unacknowledged FIN
//               until tcp.retries gives up.
//   FIN-WAIT-2: the server answers and closes; the attackers acknowledge the FIN and never
//               send theirs: orphans in FIN-WAIT-2 until tcp.fin_timeout.
//   keepalive:  as half-open, but the server never closes: SO_KEEPALIVE on its listener
//               (idle 60 s, 3 probes 10 s apart) finds the peers gone and ends the
//               connections with ETIMEDOUT, which its sessions read.
// After each, no buffer is charged (memory.queued_buffers) and no connection waits to be
// accepted (tcp.accept_queue_connections).
// The attackers sit on a host of their own behind a second link of the server's.
#include "tests/protocols/tcp/attack_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

enum class abandon { half_open, fin_wait_2, keepalive };

constexpr int attackers = 3000;
constexpr std::size_t answer_size = 1024;
constexpr std::size_t file_size = 4 << 20;

struct outcome {
    int asked = 0;    // attackers whose request went out
    int answered = 0; // ... and whose answer arrived whole
    std::size_t client_bytes = 0;
    bool client_intact = false;
    duration client_time{};
    std::size_t server_connections_during = 0;
    std::size_t server_connections_after = 0;
    std::uint32_t fewest_free = UINT32_MAX; // the server's pool
    std::uint32_t in_use_after = 0;
    std::uint32_t whole_after = 0; // available() + lent()
    std::uint32_t count = 0;
    std::uint64_t queued_after = 0;         // memory.queued_buffers
    std::uint64_t accept_waiting_after = 0; // tcp.accept_queue_connections
    std::uint64_t keepalive_probes = 0;
};

outcome run(abandon kind) {
    outcome out;
    attack_world aw(11);
    auto& w = aw.w;
    auto& client_host = aw.client;
    auto& server = aw.server;
    auto& attacker_host = aw.attacker;
    out.count = server.pool().buffer_count();

    // The server: a request of one byte; 'F' gets the file, anything else 1 KiB. After
    // answering it closes (FIN-WAIT-2), or reads on until the connection ends (half-open).
    const auto file = pattern(file_size, 3);
    const auto answer = pattern(answer_size, 4);
    auto srv = server.create_process("server");
    srv->spawn([&]() -> task<void> {
        auto ls = srv->listen({ipv4_any, 80}, {.backlog = 1024}).get().value();
        if (kind == abandon::keepalive) {
            // Children take their listener's options.
            (void)srv->set_socket_option(ls, socket_option::keep_alive, 1).get();
            (void)srv->set_socket_option(ls, socket_option::keep_idle, 60).get();
            (void)srv->set_socket_option(ls, socket_option::keep_interval, 10).get();
            (void)srv->set_socket_option(ls, socket_option::keep_count, 3).get();
        }
        for (;;) {
            auto c = co_await srv->accept(ls);
            if (!c) break;
            srv->spawn([&, h = *c]() -> task<void> {
                std::array<std::byte, 64> buf;
                auto n = co_await srv->read(h, buf);
                if (n && *n > 0) {
                    const bool big = buf[0] == std::byte{'F'};
                    (void)co_await srv->write_all(h, big ? file : answer);
                    if (kind != abandon::fin_wait_2 && !big)
                        while (auto more = co_await srv->read(h, buf))
                            if (*more == 0) break;
                }
                (void)srv->close(h).get();
            });
        }
    });
    w.run_for(1ms);

    // The attackers: ask, read the answer (and, FIN-WAIT-2, its end), then hold on.
    auto evil = attacker_host.create_process("attackers");
    for (int i = 0; i < attackers; ++i) {
        evil->spawn([&]() -> task<void> {
            auto h = co_await evil->connect({server_far_addr, 80});
            if (!h) co_return;
            const std::array<std::byte, 1> ask{std::byte{'a'}};
            if (!co_await evil->write_all(*h, ask)) co_return;
            ++out.asked;
            std::vector<std::byte> got;
            std::array<std::byte, 4096> buf;
            while (got.size() < answer_size) {
                auto n = co_await evil->read(*h, buf);
                if (!n || *n == 0) co_return;
                got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
            }
            out.answered += got == answer;
            if (kind == abandon::fin_wait_2) (void)co_await evil->read(*h, buf); // the FIN
            while ((co_await evil->sleep(3600s)).has_value()) {
            } // never closes (until the process ends)
        });
    }
    REQUIRE(w.run_until([&] { return out.answered == attackers; }, 60s));
    // Half-open: the attackers' host drops off the network; nothing the server sends them
    // from now on is acknowledged.
    if (kind != abandon::fin_wait_2) aw.attackers_vanish();
    out.server_connections_during = server.stack().tcp().connection_count();

    // The well-behaved client, during all this.
    auto cli = client_host.create_process("client");
    bool done = false;
    const time_point started = w.now();
    std::vector<std::byte> got;
    cli->spawn([&]() -> task<void> {
        auto h = co_await cli->connect({b_addr, 80});
        if (!h) co_return;
        const std::array<std::byte, 1> ask{std::byte{'F'}};
        if (!co_await cli->write_all(*h, ask)) co_return;
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            auto n = co_await cli->read(*h, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)cli->close(*h).get();
        done = true;
    });
    w.run_until(
        [&] {
            out.fewest_free = std::min(out.fewest_free, server.pool().available());
            return done;
        },
        120s);
    out.client_time = w.now() - started;
    out.client_bytes = got.size();
    out.client_intact = got == file;

    // Half-open: the server ends its idle connections (as an idle timeout would): each FIN
    // goes to the vanished peers and is retransmitted until tcp.retries gives up.
    if (kind == abandon::half_open) {
        srv->terminate("idle timeout");
        w.run(srv->join());
    }
    // Long enough for each: 15 retransmissions backing off to the 120 s ceiling (about 15
    // minutes), fin_timeout (60 s), or keepalive's 60 s idle and 3 probes 10 s apart.
    w.run_for(kind == abandon::half_open ? 1800s : 120s);
    out.server_connections_after = server.stack().tcp().connection_count();
    out.keepalive_probes = aw.server_counter("tcp", "keepalive_probes");
    evil->terminate("test over");
    w.run(evil->join());
    if (kind != abandon::half_open) {
        srv->terminate("test over");
        w.run(srv->join());
    }
    cli->terminate("test over");
    w.run(cli->join());
    w.run_for(1s);
    out.in_use_after = server.pool().in_use();
    out.whole_after = server.pool().available() + server.pool().lent();
    out.queued_after = aw.server_counter("memory", "queued_buffers");
    out.accept_waiting_after = aw.server_counter("tcp", "accept_queue_connections");
    return out;
}

void check(const outcome& o) {
    CHECK(o.asked == attackers);
    CHECK(o.answered == attackers);
    INFO("the client got "
         << o.client_bytes << " bytes in "
         << std::chrono::duration_cast<std::chrono::milliseconds>(o.client_time).count()
         << " ms; the server's pool had " << o.fewest_free << " buffers free at the least");
    CHECK(o.client_bytes == file_size);
    CHECK(o.client_intact);
    CHECK(o.client_time < 5s); // 4 MiB at 1 Gb/s: 34 ms of wire time
    CHECK(o.server_connections_after == 0);
    CHECK(o.in_use_after == 0);
    CHECK(o.whole_after == o.count);
    CHECK(o.queued_after == 0);
    CHECK(o.accept_waiting_after == 0);
}

} // namespace

TEST_CASE("tcp: 3,000 half-open connections (the peer vanished) do not keep a client from "
          "being served; the retransmissions give up and the pool is whole again",
          "[tcp][memory][adversarial]") {
    const auto o = run(abandon::half_open);
    CHECK(o.server_connections_during >= attackers);
    check(o);
}

TEST_CASE("tcp: 3,000 orphans in FIN-WAIT-2 (the peer never sends its FIN) do not keep a "
          "client from being served; fin_timeout reclaims them and the pool is whole again",
          "[tcp][memory][adversarial]") {
    const auto o = run(abandon::fin_wait_2);
    CHECK(o.server_connections_during >= attackers);
    check(o);
}

TEST_CASE("tcp: 3,000 half-open connections that the server keeps open are found gone by "
          "keepalive; the client is served and the pool is whole again",
          "[tcp][memory][adversarial]") {
    const auto o = run(abandon::keepalive);
    CHECK(o.server_connections_during >= attackers);
    CHECK(o.keepalive_probes >= 3 * attackers);
    check(o);
}
