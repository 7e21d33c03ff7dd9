// Closing connections between two simulated hosts: half-close, write then close, and the
// TIME-WAIT that follows.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

#include <array>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp teardown: the active closer stays in TIME-WAIT for exactly 2 MSL; half-close "
          "keeps data flowing the other way", "[tcp][teardown][timers]") {
    pair_world pw;
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    std::vector<std::byte> got;
    const auto reply = pattern(100000, 9);
    bool eof_seen = false;
    bool reply_written = false;
    bool shut_ok = false;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}).get().value();
        auto c = (co_await server->accept(ls)).value();
        std::array<std::byte, 16> b{};
        auto n = co_await server->read(c, b);
        eof_seen = n && *n == 0; // the client's FIN: end of stream
        // Half-close: the client still reads what we send after its FIN.
        reply_written = static_cast<bool>(co_await server->write_all(c, reply));
        (void)server->close(c).get();
        (void)server->close(ls).get();
    });
    time_point client_closed{};
    client->spawn([&]() -> task<void> {
        auto c = (co_await client->connect({b_addr, 80})).value();
        shut_ok = static_cast<bool>(client->shutdown(c, shutdown_how::write).get());
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto n = co_await client->read(c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)client->close(c).get();
        client_closed = pw.w.now();
    });
    pw.w.run(client->join());
    pw.w.run(server->join());
    CHECK(shut_ok);
    CHECK(eof_seen);
    CHECK(reply_written);
    CHECK(got.size() == reply.size());
    CHECK(got == reply);
    auto& tcp_a = pw.a.stack().tcp();
    REQUIRE(tcp_a.connection_table().starts_with("TIME-WAIT"));
    const time_point entered = client_closed; // the FIN that ended the stream put it there
    pw.w.run_until([&] { return tcp_a.connection_count() == 0; }, 300s);
    CHECK(pw.w.now() - entered == 60s); // 2 * MSL, MSL = 30 s
    CHECK(pw.b.stack().tcp().connection_count() == 0);
}

TEST_CASE("tcp teardown: close right after write_all delivers every byte before the FIN",
          "[tcp][teardown]") {
    pair_world pw;
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    const auto data = pattern(200000, 11);
    std::vector<std::byte> got;
    bool written = false;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}).get().value();
        auto c = (co_await server->accept(ls)).value();
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
        written = static_cast<bool>(co_await client->write_all(c, data));
        (void)client->close(c).get();
    });
    pw.w.run(client->join());
    pw.w.run(server->join());
    CHECK(written);
    CHECK(got.size() == data.size());
    CHECK(got == data);
    CHECK(pw.tcp_counter(pw.a, "out_rsts") == 0);
}
