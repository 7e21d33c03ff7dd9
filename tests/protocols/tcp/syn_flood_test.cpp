// 100,000 SYNs from spoofed addresses (250 on the link, none of which answers ARP) and ports
// arrive at a listener, 10,000 a second for 10 s, while a real client connects and sends
// 4 MiB through the same listener: SYN cookies keep the client served, the SYN queue never
// grows past its limit, the client's bytes arrive intact, and the half-open children are
// reclaimed afterwards, leaving no connection behind.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp listen: 100,000 spoofed SYNs during a real client's transfer", "[tcp][listen][adversarial]") {
    pair_world pw;
    (void)pw.w.run(pw.a.stack().ping(b_addr));
    constexpr int backlog = 128;
    const auto data = pattern(4 << 20, 31);
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    std::vector<std::byte> got;
    bool read_all = false;
    bool written = false;
    bool stop_listening = false;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}, {.backlog = backlog}).get().value();
        auto c = (co_await server->accept(ls)).value();
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto n = co_await server->read(c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)server->close(c).get();
        read_all = true;
        while (!stop_listening) (void)co_await server->sleep(1s);
        (void)server->close(ls).get();
    });
    pw.w.run_for(1ms);
    client->spawn([&]() -> task<void> {
        (void)co_await client->sleep(5ms); // the flood is already under way
        auto c = (co_await client->connect({b_addr, 80})).value();
        written = static_cast<bool>(co_await client->write_all(c, data));
        (void)client->close(c).get();
    });
    std::size_t most_connections = 0;
    std::uint32_t sent = 0;
    for (int tick = 0; tick < 1000; ++tick) {
        for (int i = 0; i < 100; ++i, ++sent)
            inject(pw.b, ipv4_address(10, 0, 0, static_cast<std::uint8_t>(3 + sent % 250)),
                   port(static_cast<std::uint16_t>(1024 + sent / 250)), b_addr, port(80), sent * 2654435761u, 0,
                   tcp::flag::syn);
        pw.w.run_for(10ms);
        most_connections = std::max(most_connections, pw.b.stack().tcp().connection_count());
    }
    CHECK(sent == 100000);
    pw.w.run_until([&] { return read_all; }, 600s);
    CHECK(written);
    CHECK(got.size() == data.size());
    CHECK(first_difference(got, data) == data.size());
    // The SYN queue held at most `backlog` half-open children (plus the client's connection
    // and the listener); every other SYN got a cookie.
    CHECK(most_connections <= backlog + 2);
    CHECK(pw.tcp_counter(pw.b, "syncookies_sent") >= 100000 - backlog);
    // The half-open children go after their 5 SYN-ACK retries (63 s).
    pw.w.run_for(200s);
    CHECK(pw.tcp_counter(pw.b, "half_open_reclaimed") == backlog);
    stop_listening = true;
    pw.w.run(server->join());
    pw.w.run(client->join());
    pw.w.run_for(61s);
    CHECK(pw.b.stack().tcp().connection_count() == 0);
}

namespace {
// The connection table's hash before it was keyed: what an attacker could compute offline.
std::uint64_t unkeyed_tuple_hash(ipv4_address local, std::uint16_t lport, ipv4_address remote,
                                 std::uint16_t rport) {
    const std::uint64_t a = std::uint64_t{local.to_uint()} << 32 | remote.to_uint();
    const std::uint64_t b = std::uint64_t{lport} << 16 | rport;
    std::uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ull);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}
} // namespace

TEST_CASE("tcp listen: spoofed SYNs chosen to share one bucket of the unkeyed table hash "
          "spread over the keyed one", "[tcp][listen][adversarial]") {
    pair_world pw;
    constexpr int backlog = 1024;
    bool stop = false;
    auto server = pw.b.create_process("server");
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}, {.backlog = backlog}).get().value();
        while (!stop) (void)co_await server->sleep(1s);
        (void)server->close(ls).get();
    });
    pw.w.run_for(1ms);
    // 1,000 tuples whose unkeyed hashes agree in their low 12 bits: one bucket of any table
    // up to 4,096 buckets (the table doubles past one connection a bucket).
    std::size_t found = 0;
    for (std::uint32_t n = 0; found < 1000; ++n) {
        const ipv4_address from(10, 0, 0, static_cast<std::uint8_t>(3 + n % 250));
        const auto from_port = static_cast<std::uint16_t>(1024 + n / 250);
        if ((unkeyed_tuple_hash(b_addr, 80, from, from_port) & 0xfff) != 0) continue;
        inject(pw.b, from, port(from_port), b_addr, port(80), n * 2654435761u, 0, tcp::flag::syn);
        ++found;
    }
    pw.w.run_for(10ms);
    auto& t = pw.b.stack().tcp();
    CHECK(t.connection_count() == 1000); // each a half-open child in the table
    INFO("longest chain " << t.longest_chain() << " of " << t.connection_count());
    CHECK(t.longest_chain() <= 8);
    stop = true;
    server->terminate("test over");
    pw.w.run(server->join());
}

TEST_CASE("tcp listen: with the host's memory budget at its hard limit a SYN makes no child "
          "but gets a cookie, and the connection that comes of it is served",
          "[tcp][listen][memory]") {
    pair_world pw;
    (void)pw.w.run(pw.a.stack().ping(b_addr));
    memory_budget& budget = *pw.b.stack().memory();
    // Other queues hold the server's host at its hard limit (a charge standing in for them).
    memory_charge others(&budget, queue_kind::tcp_send);
    others.set(budget.limits().hard);
    REQUIRE(budget.at_hard_limit());

    const auto data = pattern(64 << 10, 5);
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    std::vector<std::byte> got[2];
    int finished = 0;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}, {.backlog = 8}).get().value();
        for (auto& into : got) {
            auto c = co_await server->accept(ls);
            if (!c) break;
            std::vector<std::byte> buf(16384);
            for (;;) {
                auto n = co_await server->read(*c, buf);
                if (!n || *n == 0) break;
                into.insert(into.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
            }
            (void)server->close(*c).get();
            ++finished;
        }
        (void)server->close(ls).get();
    });
    auto send_once = [&]() -> task<void> {
        auto c = co_await client->connect({b_addr, 80});
        if (!c) co_return;
        (void)co_await client->write_all(*c, data);
        (void)client->close(*c).get();
    };
    client->spawn(send_once());
    REQUIRE(pw.w.run_until([&] { return finished == 1; }, 60s));
    CHECK(got[0] == data);
    CHECK(pw.tcp_counter(pw.b, "listen_memory_cookies") == 1);
    CHECK(pw.tcp_counter(pw.b, "syncookies_sent") == 1);
    CHECK(pw.tcp_counter(pw.b, "syncookies_recv") == 1);

    // Below the limit again: the next SYN makes a child in the SYN queue, as before.
    others.set(0);
    client->spawn(send_once());
    REQUIRE(pw.w.run_until([&] { return finished == 2; }, 60s));
    CHECK(got[1] == data);
    CHECK(pw.tcp_counter(pw.b, "listen_memory_cookies") == 1);
    CHECK(pw.tcp_counter(pw.b, "syncookies_sent") == 1);
    CHECK(pw.tcp_counter(pw.b, "passive_opens") == 2);
    pw.w.run(server->join());
    pw.w.run(client->join());
}
