// A program outside coronet's tree, built against the installed package: the README's
// short server (owning handles), tested as the README's "Testing a server" does: on the
// public harness, under 2 % loss, with a client that checks its echo.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "protocols/sim/harness.hpp"

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
    sim::test_network net({.seed = 1, .faults = {.loss = 0.02}});
    net.spawn_server(net.b(), serve);
    const char hello[] = "hello, coronet";
    std::array<std::byte, sizeof hello> back{};
    bool echoed = false;
    auto& client = net.spawn_client(net.a(), [&](process& p) -> task<> {
        auto conn = p.own(co_await p.connect({net.address(net.b()), port{7}}));
        if (!conn) co_return;
        if (!co_await p.write_all(*conn, std::as_bytes(std::span(hello)))) co_return;
        echoed = static_cast<bool>(co_await p.read_exactly(*conn, back));
    });
    const auto r = net.run();
    if (!r || !echoed || std::memcmp(back.data(), hello, sizeof hello) != 0 ||
        client.handles().count() != 0)
        return 1;
    std::puts("consumer ok");
    return 0;
}
