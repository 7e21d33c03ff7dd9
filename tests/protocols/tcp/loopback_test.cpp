// TCP to the host's own address: segments loop back inside the stack (no NIC, no wire), and
// a transfer each way arrives intact. Delivery is deferred, not a nested call into the
// receiver, so a sender is never re-entered by its own ACKs in the middle of sending.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

TEST_CASE("tcp loopback: a host connects to its own address and exchanges 1 MiB each way",
          "[tcp][loopback]") {
    pair_world pw;
    const auto up = pattern(1 << 20, 1);
    const auto down = pattern(1 << 20, 2);
    transfer_outcome out;
    auto server = pw.a.create_process("server");
    auto client = pw.a.create_process("client");
    process* sp = server.get();
    process* cp = client.get();
    bool server_done = false;
    bool client_done = false;
    pw.w.run_for(10ms); // the gratuitous ARP announcement goes out first
    const auto frames_before = pw.a.nic_at(0).stats().tx_frames.value;
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get();
        if (!ls) co_return;
        auto c = co_await sp->accept(*ls);
        if (!c) co_return;
        out.server_ok = co_await exchange(*sp, *c, down, out.at_server);
        (void)sp->close(*c).get();
        server_done = true;
    });
    cp->spawn([&]() -> task<void> {
        auto c = co_await cp->connect({a_addr, 80});
        if (!c) co_return;
        out.client_ok = co_await exchange(*cp, *c, up, out.at_client);
        (void)cp->close(*c).get();
        client_done = true;
    });
    pw.w.run_until([&] { return server_done && client_done; }, 600s);
    CHECK(out.server_ok);
    CHECK(out.client_ok);
    CHECK(first_difference(out.at_server, up) == up.size());
    CHECK(first_difference(out.at_client, down) == down.size());
    CHECK(out.at_server.size() == up.size());
    CHECK(out.at_client.size() == down.size());
    // Nothing went out on the wire: no ARP, no segment.
    CHECK(pw.a.nic_at(0).stats().tx_frames.value == frames_before);
    server->terminate("test over");
    client->terminate("test over");
    pw.w.run(server->join());
    pw.w.run(client->join());
}
