// Off-path attackers against a live connection and a listener: blind RST, SYN and data at
// guessed sequence numbers must not break a connection; a flood of spoofed SYNs must not keep
// a real client out (SYN cookies) nor leave half-open children behind.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp adversarial: blind RST, SYN and data at random sequence numbers do not break a "
          "connection", "[tcp][adversarial]") {
    pair_world pw;
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    const auto data = pattern(300000, 12);
    std::vector<std::byte> got;
    endpoint client_end{};
    bool connected = false;
    bool written = false;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}).get().value();
        auto c = (co_await server->accept(ls)).value();
        client_end = server->get_peer_name(c).get().value();
        connected = true;
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto n = co_await server->read(c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)server->close(c).get();
        (void)server->close(ls).get();
    });
    client->spawn([&]() -> task<void> {
        auto c = (co_await client->connect({b_addr, 80})).value();
        (void)co_await client->sleep(50ms);
        written = static_cast<bool>(co_await client->write_all(c, data));
        (void)client->close(c).get();
    });
    pw.w.run_until([&] { return connected; }, 1s);
    REQUIRE(connected);
    std::uint32_t x = 12345;
    for (int i = 0; i < 3000; ++i) {
        x = x * 1664525u + 1013904223u;
        const tcp::flag f = i % 3 == 0 ? tcp::flag::rst : i % 3 == 1 ? tcp::flag::syn : tcp::flag::ack;
        inject(pw.b, client_end.address, client_end.port, b_addr, port(80), x, x ^ 0x5a5a5a5a, f);
    }
    pw.w.run(client->join());
    pw.w.run(server->join());
    CHECK(written);
    CHECK(got.size() == data.size());
    CHECK(got == data);
    CHECK(pw.tcp_counter(pw.b, "estab_resets") == 0);
}

TEST_CASE("tcp listen: a flood of spoofed SYNs fills the SYN queue; SYN cookies still serve a "
          "real client", "[tcp][listen][adversarial]") {
    pair_world pw;
    (void)pw.w.run(pw.a.stack().ping(b_addr));
    auto server = pw.b.create_process("server");
    const auto data = pattern(200000, 11);
    std::vector<std::byte> got;
    bool written = false;
    bool stop_listening = false;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}, {.backlog = 8}).get().value();
        auto c = (co_await server->accept(ls)).value();
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto n = co_await server->read(c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)server->close(c).get();
        // The listener stays open: closing it would reset its half-open children at once.
        while (!stop_listening) (void)co_await server->sleep(1s);
        (void)server->close(ls).get();
    });
    pw.w.run_for(1ms);
    for (std::uint32_t i = 0; i < 1000; ++i)
        inject(pw.b, ipv4_address(10, 0, 0, static_cast<std::uint8_t>(3 + i % 250)),
               port(static_cast<std::uint16_t>(1024 + i)), b_addr, port(80), i * 7919u, 0,
               tcp::flag::syn);
    CHECK(pw.tcp_counter(pw.b, "syncookies_sent") == 1000 - 8);
    auto client = pw.a.create_process("client");
    client->spawn([&]() -> task<void> {
        auto c = (co_await client->connect({b_addr, 80})).value();
        written = static_cast<bool>(co_await client->write_all(c, data));
        (void)client->close(c).get();
    });
    pw.w.run(client->join());
    pw.w.run_until([&] { return got.size() == data.size(); }, 10s);
    CHECK(written);
    CHECK(got.size() == data.size());
    CHECK(first_difference(got, data) == data.size());
    CHECK(pw.tcp_counter(pw.b, "syncookies_recv") == 1);
    // The half-open children of the flood are reclaimed after their 5 SYN-ACK retries
    // (1 + 2 + 4 + 8 + 16 + 32 s).
    pw.w.run_for(200s);
    CHECK(pw.tcp_counter(pw.b, "half_open_reclaimed") == 8);
    stop_listening = true;
    pw.w.run(server->join());
}
