// A program outside coronet's tree, built against the installed package: the README's
// short server (owning handles), run on a simulated wire with a client that checks its echo.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "protocols/sim/world.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <span>

// --- The README's "A server, in short", as printed there. ---
coronet::task<> session(coronet::process& p, coronet::unique_handle conn) {
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await p.read(conn, buf); // a system call: copies out
        if (!n || *n == 0) co_return;        // error or orderly close
        if (!co_await p.write_all(conn, std::span(buf).first(*n))) co_return;
    } // conn closes here, whichever way the coroutine ends (co_return, an exception)
}

coronet::task<> serve(coronet::process& p) {
    auto ls = p.own(co_await p.listen({coronet::ipv4_any, 7}, {.backlog = 1024}));
    if (!ls) co_return;
    for (;;) {
        auto conn = p.own(co_await p.accept(*ls));
        if (!conn) co_return;
        p.spawn(session(p, std::move(*conn)));
    }
}
// --- end of the README's example. ---

int main() {
    using namespace coronet;
    sim::world w({.seed = 1});
    auto& a = w.add_host("a");
    auto& b = w.add_host("b");
    auto& link = w.add_wire();
    w.connect(a, link, *ipv4_prefix::parse("10.0.0.1/24"));
    w.connect(b, link, *ipv4_prefix::parse("10.0.0.2/24"));
    auto server = b.create_process("echo");
    auto client = a.create_process("client");
    server->spawn(serve(*server));

    const char hello[] = "hello, coronet";
    std::array<std::byte, sizeof hello> back{};
    bool echoed = false;
    client->spawn([&]() -> task<> {
        auto conn = client->own(co_await client->connect({ipv4_address(10, 0, 0, 2), port{7}}));
        if (!conn) co_return;
        if (!co_await client->write_all(*conn, std::as_bytes(std::span(hello)))) co_return;
        echoed = static_cast<bool>(co_await client->read_exactly(*conn, back));
    });
    w.run(client->join());
    server->terminate("done");
    w.run(server->join());
    if (!echoed || std::memcmp(back.data(), hello, sizeof hello) != 0 ||
        client->handles().count() != 0)
        return 1;
    std::puts("consumer ok");
    return 0;
}
