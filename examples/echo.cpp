// coronet-echo: the echo service (RFC 862) over TCP and UDP on one port: every byte a TCP
// client sends comes back, every UDP datagram is returned to its sender.
//
//   coronet-echo --stack host --port 7007          # on Linux sockets
//   coronet-echo --tap ctap0 --ip 10.0.0.2/24      # on coronet's stack over a TAP device
#include "examples/common/options.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"

#include <array>
#include <fmt/format.h>

using namespace coronet;

namespace {

task<void> session(process& p, handle conn) {
    std::array<std::byte, 16384> buf;
    for (;;) {
        auto n = co_await p.read(conn, buf);
        if (!n || *n == 0) break; // error or orderly close
        if (!co_await p.write_all(conn, std::span(buf).first(*n))) break;
    }
    (void)co_await p.close(conn);
}

task<void> tcp_echo(process& p, std::uint16_t port) {
    auto ls = co_await p.listen({ipv4_any, port}, {.backlog = 1024});
    if (!ls) {
        fmt::print(stderr, "tcp echo: listen on port {}: {} (UDP goes on)\n", port, ls.message());
        co_return;
    }
    fmt::print("tcp echo on port {}\n", port);
    for (;;) {
        auto conn = co_await p.accept(*ls);
        if (!conn) co_return;
        p.spawn(session(p, *conn));
    }
}

task<void> udp_echo(process& p, std::uint16_t port) {
    auto s = co_await p.socket(socket_type::datagram);
    if (!s || !co_await p.bind(*s, {ipv4_any, port})) {
        fmt::print(stderr, "udp echo: cannot bind port {}\n", port);
        co_return;
    }
    fmt::print("udp echo on port {}\n", port);
    std::vector<std::byte> buf(65536);
    for (;;) {
        auto d = co_await p.recv_from(*s, buf);
        if (!d) {
            if (d.error() == ECANCELED) co_return;
            continue; // an ICMP error for an earlier reply: nothing to do
        }
        (void)co_await p.send_to(*s, std::span(buf).first(d->size), d->from);
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"coronet-echo: TCP and UDP echo (RFC 862)"};
    stack_options opts;
    examples::add_stack_options(app, opts);
    std::uint16_t port = 7;
    app.add_option("--port", port, "TCP and UDP port (default 7)");
    examples::parse_or_exit(app, argc, argv);
    opts.process_name = "echo";
    return run_server(opts, [port](process& p) -> task<void> {
        p.spawn(udp_echo(p, port));
        co_await tcp_echo(p, port);
    });
}
