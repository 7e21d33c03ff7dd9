// A program outside coronet's tree, built against the installed package: the README's
// short server (owning handles, a stream), tested as the README's "Testing a server" does: on the
// public harness, under 2 % loss, with a client that checks its echo.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/process/stream_reader.hpp"
#include "protocols/sim/harness.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <span>

// --- The README's "A server, in short", as printed there. ---
coronet::task<> session(coronet::process& p, coronet::unique_handle conn) {
    coronet::stream_reader in(p, conn); // buffers what a read brings past a line's end
    for (;;) {
        auto line = co_await in.read_until("\n"); // one line, its '\n' included
        if (!line) co_return;                     // ENODATA at the end of the stream, or an error
        if (!co_await p.write_all(conn, *line)) co_return;
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
    const char hello[] = "hello, coronet\nsecond line\n"; // two lines, echoed line by line
    std::array<std::byte, sizeof hello - 1> back{};
    bool echoed = false;
    auto& client = net.spawn_client(net.a(), [&](process& p) -> task<> {
        auto conn = p.own(co_await p.connect({net.address(net.b()), port{7}}));
        if (!conn) co_return;
        if (!co_await p.write_all(*conn, std::as_bytes(std::span(hello, sizeof hello - 1)))) co_return;
        echoed = static_cast<bool>(co_await p.read_exactly(*conn, back));
    });
    const auto r = net.run();
    if (!r || !echoed || std::memcmp(back.data(), hello, back.size()) != 0 ||
        client.handles().count() != 0)
        return 1;
    std::puts("consumer ok");
    return 0;
}
