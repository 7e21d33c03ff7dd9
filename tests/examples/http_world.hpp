#pragma once
// A simulated pair of hosts with coronet-httpd's server on b (10.0.0.2:8080) and a process
// for clients on a, and a client that sends a request at a chosen pace and keeps what comes
// back: shared by the httpd tests.
#include "examples/common/http_server.hpp"
#include "framework/uring/reactor.hpp"
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace coronet::examples::test {

using coronet::tcp_test::pair_world;

inline const endpoint server_at{ipv4_address(10, 0, 0, 2), port(8080)};

struct http_world {
    // Before the world: the server's file buffers must outlive the sockets that send them.
    httpd_config cfg;
    server_state st{cfg};
    pair_world pw;
    // With a reactor on the world's scheduler the server's file reads go through io_uring
    // (virtual time waits for them); without one they are plain system calls.
    std::optional<uring::uring_reactor> ring;
    ref<process> server = pw.b.create_process("httpd");
    ref<process> clients = pw.a.create_process("clients");
    explicit http_world(httpd_config c, bool with_ring = false) : cfg(std::move(c)) {
        if (with_ring) ring.emplace(pw.w.sched());
        server->spawn(http_serve(*server, st));
    }
    ~http_world() {
        clients->terminate("test over");
        server->terminate("test over");
        pw.w.run(clients->join());
        pw.w.run(server->join());
    }
};

struct client_result {
    std::string got;
    bool closed = false; // the server closed (read returned 0 or an error)
    time_point closed_at{};
};

// A client that sends `request` `per_tick` bytes at a time, one chunk every `tick`, then
// reads until the server closes or `stop_after` bytes came back.
inline task<void> client(process& p, std::string request, std::size_t per_tick, duration tick,
                         client_result& out, std::size_t stop_after = SIZE_MAX) {
    auto h = co_await p.connect(server_at);
    if (!h) co_return;
    p.spawn([&p, h = *h, request, per_tick, tick]() -> task<void> {
        for (std::size_t off = 0; off < request.size(); off += per_tick) {
            auto piece = std::string_view(request).substr(off, per_tick);
            if (!co_await p.write_all(h, std::as_bytes(std::span(piece.data(), piece.size()))))
                co_return;
            if (off + per_tick < request.size()) (void)co_await p.sleep(tick);
        }
    });
    std::vector<std::byte> buf(4096);
    while (out.got.size() < stop_after) {
        auto r = co_await p.read(*h, buf);
        if (!r || *r == 0) {
            out.closed = true;
            out.closed_at = scheduler::current().now();
            break;
        }
        out.got.append(reinterpret_cast<const char*>(buf.data()), *r);
    }
}

// One request with Connection: close; what came back until the server closed.
inline task<void> fetch(process& p, endpoint at, std::string target, std::string& out) {
    auto h = co_await p.connect(at);
    if (!h) co_return;
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (!co_await p.write_all(*h, std::as_bytes(std::span(req.data(), req.size())))) co_return;
    std::vector<std::byte> buf(4096);
    for (;;) {
        auto r = co_await p.read(*h, buf);
        if (!r || *r == 0) break;
        out.append(reinterpret_cast<const char*>(buf.data()), *r);
    }
    (void)co_await p.close(*h);
}

} // namespace coronet::examples::test
