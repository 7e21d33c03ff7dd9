// 1,000 peers connect, send a request and vanish (no RST: their link loses everything)
// while the server's application is not accepting: the accept queue holds its backlog and
// no more (tcp.accept_queue_connections), the rest are refused and counted, the server's
// connections stay bounded by the backlog and the SYN queue. Then the application accepts:
// it answers the vanished peers, TCP_USER_TIMEOUT (20 s, set on the listener) ends those
// connections, the half-open children go after their SYN-ACK retries, a well-behaved client
// is served, and once it is all over the pool is whole and the gauges are 0.
#include "tests/protocols/tcp/attack_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

constexpr int attackers = 1000;
constexpr int backlog = 128;

} // namespace

TEST_CASE("tcp listen: 1,000 peers that connect, ask and vanish while nobody accepts fill the "
          "accept queue to its backlog and no further; once the server accepts, the user timeout "
          "ends them, a client is served and the pool is whole",
          "[tcp][listen][memory][adversarial]") {
    attack_world aw(13);
    auto& w = aw.w;
    auto& server = aw.server;
    const std::uint32_t in_use_before = server.pool().in_use();

    // The server: accepts only once told; answers each request with 1 KiB and reads on
    // until the connection ends (the vanished ones: ETIMEDOUT from the user timeout).
    const auto answer = pattern(1024, 9);
    bool accepting = false;
    auto srv = server.create_process("server");
    srv->spawn([&]() -> task<void> {
        auto ls = srv->listen({ipv4_any, 80}, {.backlog = backlog}).get().value();
        (void)srv->set_socket_option(ls, socket_option::user_timeout, 20'000).get();
        while (!accepting) {
            auto slept = co_await srv->sleep(10ms);
            if (!slept) co_return;
        }
        for (;;) {
            auto c = co_await srv->accept(ls);
            if (!c) break;
            srv->spawn([&, h = *c]() -> task<void> {
                std::array<std::byte, 64> buf;
                if (auto n = co_await srv->read(h, buf); n && *n > 0) {
                    (void)co_await srv->write_all(h, answer);
                    while (auto more = co_await srv->read(h, buf))
                        if (*more == 0) break;
                }
                (void)srv->close(h).get();
            });
        }
    });
    w.run_for(1ms);

    auto evil = aw.attacker.create_process("attackers");
    int asked = 0;
    for (int i = 0; i < attackers; ++i) {
        evil->spawn([&]() -> task<void> {
            auto h = co_await evil->connect({server_far_addr, 80});
            if (!h) co_return;
            const std::array<std::byte, 1> ask{std::byte{'a'}};
            if (co_await evil->write_all(*h, ask)) ++asked;
            while ((co_await evil->sleep(3600s)).has_value()) {
            } // never closes (until the process ends)
        });
    }
    w.run_for(2s);
    aw.attackers_vanish();
    const std::uint64_t waiting = aw.server_counter("tcp", "accept_queue_connections");
    const std::size_t connections = server.stack().tcp().connection_count();
    CHECK(waiting == backlog);
    CHECK(connections <= 2 * backlog + 1); // the accept queue, the SYN queue, the listener
    CHECK(aw.server_counter("tcp", "listen_overflows") > 0);
    CHECK(asked >= backlog);

    // The application accepts now; the client asks for its answer.
    accepting = true;
    auto cli = aw.client.create_process("client");
    std::vector<std::byte> got;
    bool done = false;
    const time_point started = w.now();
    cli->spawn([&]() -> task<void> {
        auto h = co_await cli->connect({b_addr, 80});
        if (!h) co_return;
        const std::array<std::byte, 1> ask{std::byte{'c'}};
        if (!co_await cli->write_all(*h, ask)) co_return;
        std::array<std::byte, 4096> buf;
        while (got.size() < answer.size()) {
            auto n = co_await cli->read(*h, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)cli->close(*h).get();
        done = true;
    });
    REQUIRE(w.run_until([&] { return done; }, 60s));
    CHECK(got == answer);
    CHECK(w.now() - started < 5s);
    CHECK(aw.server_counter("tcp", "accept_queue_connections") == 0);

    // The user timeout ends the vanished peers' connections; the SYN-RECEIVED children go
    // after their SYN-ACK retries (63 s).
    w.run_for(120s);
    CHECK(server.stack().tcp().connection_count() <= 1); // the listener
    evil->terminate("test over");
    w.run(evil->join());
    srv->terminate("test over");
    w.run(srv->join());
    cli->terminate("test over");
    w.run(cli->join());
    w.run_for(1s);
    CHECK(server.stack().tcp().connection_count() == 0);
    CHECK(aw.server_counter("tcp", "accept_queue_connections") == 0);
    CHECK(aw.server_counter("memory", "queued_buffers") == 0);
    CHECK(server.pool().in_use() == in_use_before);
}

TEST_CASE("tcp listen: a listener held past its stack's end, with a connection in its accept "
          "queue, lets go of it without touching the stack's counters",
          "[tcp][listen]") {
    ref<socket_object> listener;
    {
        pair_world pw;
        listener = pw.b.stack().socket(socket_type::stream).value();
        REQUIRE(listener->bind({ipv4_any, 80}));
        REQUIRE(listener->listen(8));
        auto cli = pw.a.create_process("client");
        bool connected = false;
        cli->spawn([&]() -> task<void> {
            auto h = co_await cli->connect({b_addr, 80});
            connected = h.has_value();
        });
        REQUIRE(pw.w.run_until([&] { return connected; }, 5s));
        pw.w.run_for(10ms);
        CHECK(pw.tcp_counter(pw.b, "accept_queue_connections") == 1);
    } // the world, its stacks and their counters go; the listener stays
    listener = ref<socket_object>(); // its accept queue is released now (ASan: no use after free)
    CHECK(!listener);
}
