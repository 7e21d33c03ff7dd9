// The same application code on both stacks, with the same results: coronet's native stack
// (two simulated hosts, virtual time) and the host stack (Linux sockets through io_uring, on
// loopback). Each case is written once against an environment that gives it a server and a
// client process, an address to listen on and a way to run them; a difference between the
// stacks shows as one of the two runs failing. Where Linux and coronet differ on purpose the
// case says so (see also the socket calls' comments in framework/process/socket.hpp).
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/process/stream_writer.hpp"
#include "framework/uring/uring.hpp"
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

using namespace coronet;
using coronet::tcp_test::fnv1a;
using coronet::tcp_test::pattern;

namespace {

struct native_env {
    static constexpr const char* name = "native";
    tcp_test::pair_world pw;
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    endpoint listen_at{tcp_test::b_addr, port(7000)};
    endpoint nobody{tcp_test::b_addr, port(7001)};
    void run(process& p) { pw.w.run(p.join()); }
    template <class Pred>
    void run_until(Pred pred) { pw.w.run_until(pred); }
};

struct host_env {
    static constexpr const char* name = "host";
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
    ref<process> server = process::create("server", &stack);
    ref<process> client = process::create("client", &stack);
    endpoint listen_at{ipv4_address(127, 0, 0, 1), port(0)}; // the kernel picks a free port
    endpoint nobody = free_port();
    void run(process& p) { sched.run(p.join()); }
    template <class Pred>
    void run_until(Pred pred) { sched.run_until(pred); }

private:
    endpoint free_port() { // taken and closed again: nobody listens there
        auto ls = server->listen({ipv4_address(127, 0, 0, 1), port(0)}).value();
        auto where = server->get_socket_name(ls).value();
        (void)server->close(ls);
        return where;
    }
};

// Listens and returns where, for the client to connect to.
template <class Env>
std::pair<handle, endpoint> listen_on(Env& env) {
    auto ls = env.server->listen(env.listen_at).value();
    return {ls, env.server->get_socket_name(ls).value()};
}

std::span<const std::byte> as_span(const std::vector<std::byte>& v) { return v; }

} // namespace

TEMPLATE_TEST_CASE("both stacks: 1 MiB each way, then end of stream, byte-exact", "[parity]",
                   native_env, host_env) {
    TestType env;
    auto [ls, where] = listen_on(env);
    const auto up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
    std::vector<std::byte> got_up, got_down;
    auto receive_all = [](process& p, handle h, std::vector<std::byte>& into) -> task<void> {
        std::vector<std::byte> buf(16384);
        for (;;) {
            auto n = co_await p.read(h, buf);
            if (!n || *n == 0) break;
            into.insert(into.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
    };
    // Each side sends its bytes, shuts down its write side and reads all the other sends.
    auto exchange = [&](process& p, handle h, const std::vector<std::byte>& out,
                        std::vector<std::byte>& in) -> task<void> {
        p.spawn(receive_all(p, h, in));
        auto sent = co_await p.write_all(h, as_span(out));
        REQUIRE(sent);
        REQUIRE(p.shutdown(h, shutdown_how::write));
    };
    env.server->spawn([&, ls = ls]() -> task<void> {
        auto c = co_await env.server->accept(ls);
        REQUIRE(c);
        co_await exchange(*env.server, *c, down, got_up);
    });
    env.client->spawn([&, where = where]() -> task<void> {
        auto c = co_await env.client->connect(where);
        REQUIRE(c);
        co_await exchange(*env.client, *c, up, got_down);
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(got_up.size() == up.size());
    CHECK(fnv1a(got_up) == fnv1a(up));
    CHECK(got_down.size() == down.size());
    CHECK(fnv1a(got_down) == fnv1a(down));
}

TEMPLATE_TEST_CASE("both stacks: a zero-copy echo server (recv_zc, send_zc) runs unchanged",
                   "[parity]", native_env, host_env) {
    TestType env;
    auto [ls, where] = listen_on(env);
    const auto msg = pattern(256 << 10, 3);
    std::vector<std::byte> back(msg.size());
    env.server->spawn([&, ls = ls]() -> task<void> {
        auto c = co_await env.server->accept(ls);
        REQUIRE(c);
        for (;;) {
            auto p = co_await env.server->recv_zc(*c);
            REQUIRE(p);
            if (p->empty()) break;
            auto sent = co_await env.server->send_zc_all(*c, *p);
            REQUIRE(sent);
        }
        (void)env.server->close(*c);
    });
    env.client->spawn([&, where = where]() -> task<void> {
        auto c = co_await env.client->connect(where);
        REQUIRE(c);
        auto sent = co_await env.client->write_all(*c, as_span(msg));
        REQUIRE(sent);
        REQUIRE(env.client->shutdown(*c, shutdown_how::write));
        auto got = co_await env.client->read_exactly(*c, back);
        REQUIRE(got);
        std::array<std::byte, 1> more{};
        auto end = co_await env.client->read(*c, more);
        CHECK(end.value() == 0); // the server closed after the echo
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(fnv1a(back) == fnv1a(msg));
}

TEMPLATE_TEST_CASE("both stacks: the errors a server meets", "[parity]", native_env, host_env) {
    TestType env;
    auto [ls, where] = listen_on(env);
    int refused = 0, in_use = 0, accept_on_stream = 0, read_after_reset = 0, write_after_shutdown = 0,
        would_block = 0, bad_handle = 0, end_of_stream = -1;
    bool done = false;
    env.server->spawn([&, ls = ls, where = where]() -> task<void> {
        // A second listener on the same address and port.
        auto again = env.server->listen(where);
        in_use = again ? 0 : again.error();
        std::array<std::byte, 64> buf{};
        auto first = co_await env.server->accept(ls); // shut down for writing, then closed
        REQUIRE(first);
        auto n = co_await env.server->read(*first, buf);
        end_of_stream = n ? static_cast<int>(*n) : -n.error();
        auto second = co_await env.server->accept(ls); // aborted (SO_LINGER 0)
        REQUIRE(second);
        n = co_await env.server->read(*second, buf);
        read_after_reset = n ? -1 : n.error();
    });
    env.client->spawn([&, where = where]() -> task<void> {
        auto r = co_await env.client->connect(env.nobody);
        refused = r ? 0 : r.error();
        auto c = co_await env.client->connect(where);
        REQUIRE(c);
        auto a = co_await env.client->accept(*c); // not a listener
        accept_on_stream = a ? 0 : a.error();
        REQUIRE(env.client->set_socket_option(*c, socket_option::non_blocking, 1));
        std::array<std::byte, 64> buf{};
        auto n = co_await env.client->read(*c, buf); // nothing sent yet
        would_block = n ? -1 : n.error();
        REQUIRE(env.client->set_socket_option(*c, socket_option::non_blocking, 0));
        REQUIRE(env.client->shutdown(*c, shutdown_how::write));
        const std::array<std::byte, 4> four{};
        auto w = co_await env.client->write(*c, four);
        write_after_shutdown = w ? -1 : w.error();
        REQUIRE(env.client->close(*c));
        auto gone = co_await env.client->read(*c, buf);
        bad_handle = gone ? -1 : gone.error();
        auto d = co_await env.client->connect(where);
        REQUIRE(d);
        REQUIRE(env.client->set_socket_option(*d, socket_option::linger, 0));
        REQUIRE(env.client->close(*d)); // linger 0: a reset, not a FIN
        done = true;
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(done);
    CHECK(refused == ECONNREFUSED);
    CHECK(in_use == EADDRINUSE);
    CHECK(accept_on_stream == EINVAL);
    CHECK(would_block == EAGAIN);
    CHECK(write_after_shutdown == EPIPE);
    CHECK(bad_handle == EBADF);
    CHECK(end_of_stream == 0);
    CHECK(read_after_reset == ECONNRESET);
}

TEMPLATE_TEST_CASE("both stacks: UDP datagrams keep their boundaries and their sender",
                   "[parity]", native_env, host_env) {
    TestType env;
    auto rx = env.server->socket(socket_type::datagram).value();
    REQUIRE(env.server->bind(rx, env.listen_at));
    const auto at = env.server->get_socket_name(rx).value();
    auto tx = env.client->socket(socket_type::datagram).value();
    REQUIRE(env.client->bind(tx, {env.listen_at.address == ipv4_address(127, 0, 0, 1)
                                          ? env.listen_at.address
                                          : tcp_test::a_addr,
                                  port(0)}));
    const auto from = env.client->get_socket_name(tx).value();
    std::vector<datagram_info> infos;
    std::vector<std::string> texts;
    env.server->spawn([&]() -> task<void> {
        for (int i = 0; i < 3; ++i) {
            std::array<std::byte, 8> buf{};
            auto r = co_await env.server->recv_from(rx, buf);
            REQUIRE(r);
            infos.push_back(*r);
            texts.emplace_back(reinterpret_cast<const char*>(buf.data()), r->size);
        }
    });
    env.client->spawn([&]() -> task<void> {
        for (const std::string s : {"one", "", "a datagram longer than 8"}) {
            auto sent = co_await env.client->send_to(tx, std::as_bytes(std::span(s.data(), s.size())), at);
            REQUIRE(sent);
        }
    });
    env.run(*env.client);
    env.run(*env.server);
    REQUIRE(infos.size() == 3);
    CHECK(texts == std::vector<std::string>{"one", "", "a datagr"});
    CHECK_FALSE(infos[0].truncated);
    CHECK_FALSE(infos[1].truncated);
    CHECK(infos[2].truncated);
    for (const auto& i : infos) CHECK(i.from == from);
}

// A difference written down: socket_option::reuse_port is accepted by both, on stream and
// datagram sockets, and reads back; only the host stack shares a port with it (SO_REUSEPORT,
// one listener per shard). The native stack runs one stack per shard, each with its own
// ports, so within one stack a second listener on a port in use stays EADDRINUSE.
TEMPLATE_TEST_CASE("both stacks: reuse_port is accepted and reads back; only the host stack "
                   "shares a port with it",
                   "[parity]", native_env, host_env) {
    TestType env;
    auto& p = *env.server;
    for (const socket_type type : {socket_type::stream, socket_type::datagram}) {
        auto h = p.socket(type).value();
        CHECK(p.get_socket_option(h, socket_option::reuse_port).value() == 0);
        REQUIRE(p.set_socket_option(h, socket_option::reuse_port, 1));
        CHECK(p.get_socket_option(h, socket_option::reuse_port).value() == 1);
        REQUIRE(p.set_socket_option(h, socket_option::reuse_port, 0));
        CHECK(p.get_socket_option(h, socket_option::reuse_port).value() == 0);
        REQUIRE(p.close(h));
    }
    auto ls = p.listen(env.listen_at, {.reuse_port = true}).value();
    const auto second = p.listen(p.get_socket_name(ls).value(), {.reuse_port = true});
    if (std::string_view(TestType::name) == "host")
        CHECK(second.has_value());
    else
        CHECK(second.error() == EADDRINUSE);
}

// A difference written down: a reset after the peer's FIN. RFC 9293 §3.10.7.4 says a RST in
// CLOSE-WAIT answers outstanding and later RECEIVEs and SENDs with "connection reset", and
// coronet does so (ECONNRESET for both). Linux keeps the end of stream it has seen (read
// returns 0 again: tcp_recvmsg stops at SOCK_DONE before it looks at the error) and makes the
// reset EPIPE (tcp_reset in CLOSE_WAIT).
TEMPLATE_TEST_CASE("both stacks: a reset after the peer's FIN (where they differ)", "[parity]",
                   native_env, host_env) {
    TestType env;
    auto [ls, where] = listen_on(env);
    int first_read = -1, second_read = -1, write_after = -1;
    bool client_closed = false;
    auto outcome = [](const auto& r) { return r ? static_cast<int>(*r) : -r.error(); };
    env.server->spawn([&, ls = ls]() -> task<void> {
        auto c = co_await env.server->accept(ls);
        REQUIRE(c);
        std::array<std::byte, 64> buf{};
        first_read = outcome(co_await env.server->read(*c, buf)); // the FIN
        while (!client_closed) (void)co_await env.server->sleep(std::chrono::milliseconds(10));
        (void)co_await env.server->sleep(std::chrono::milliseconds(50)); // the RST is in
        second_read = outcome(co_await env.server->read(*c, buf));
        write_after = outcome(co_await env.server->write(*c, buf));
    });
    env.client->spawn([&, where = where]() -> task<void> {
        auto c = co_await env.client->connect(where);
        REQUIRE(c);
        REQUIRE(env.client->shutdown(*c, shutdown_how::write));
        (void)co_await env.client->sleep(std::chrono::milliseconds(20));
        REQUIRE(env.client->set_socket_option(*c, socket_option::linger, 0));
        REQUIRE(env.client->close(*c)); // the RST
        client_closed = true;
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(first_read == 0);
    if (std::string_view(TestType::name) == "native") {
        CHECK(second_read == -ECONNRESET);
        CHECK(write_after == -ECONNRESET);
    } else {
        CHECK(second_read == 0);
        CHECK(write_after == -EPIPE);
    }
}

namespace {

// Reads until end of stream into `into`.
task<void> read_to_end(process& p, handle h, std::string& into) {
    std::vector<std::byte> buf(16384);
    for (;;) {
        auto n = co_await p.read(h, buf);
        if (!n || *n == 0) break;
        into.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
}

// A server that accepts one connection and reads it to the end.
template <class Env>
void serve_one_reader(Env& env, handle ls, std::string& got) {
    env.server->spawn([&env, &got, ls]() -> task<void> {
        auto c = co_await env.server->accept(ls);
        REQUIRE(c);
        co_await read_to_end(*env.server, *c, got);
    });
}

} // namespace

TEMPLATE_TEST_CASE("both stacks: stream_writer sends 200 small writes as one send_zc, then a "
                   "packet chained in without a copy",
                   "[parity][stream_writer]", native_env, host_env) {
    // Before the stacks: their sockets share these buffers until the peer acknowledges them.
    buffer_pool pool({.buffer_size = 2048, .buffer_count = 64});
    buffer_pool data_pool({.buffer_size = 16384, .buffer_count = 8});
    TestType env;
    auto [ls, where] = listen_on(env);
    const auto big = pattern(100 << 10, 9);
    std::string expected, got;
    for (int i = 0; i < 200; ++i)
        expected += "line " + std::to_string(i) + "\n";
    expected.append(reinterpret_cast<const char*>(big.data()), big.size());
    serve_one_reader(env, ls, got);
    std::uint64_t send_zc_after_flush = 0, writes_after_flush = 0, copied_for_packet = 0;
    env.client->spawn([&, where = where]() -> task<void> {
        auto& p = *env.client;
        auto c = co_await p.connect(where);
        REQUIRE(c);
        stream_writer out(p, *c, pool);
        for (int i = 0; i < 200; ++i) {
            auto w = co_await out.write("line " + std::to_string(i) + "\n");
            REQUIRE(w);
        }
        const std::uint64_t zc_before = p.calls(sysno::send_zc);
        CHECK(p.calls(sysno::write) == 0); // nothing sent yet
        CHECK(out.pending() == expected.size() - big.size());
        auto f = co_await out.flush();
        REQUIRE(f);
        send_zc_after_flush = p.calls(sysno::send_zc) - zc_before;
        writes_after_flush = p.calls(sysno::write);
        CHECK(out.pending() == 0);

        auto body = packet::allocate(data_pool, 0);
        REQUIRE(body);
        counter ignored{};
        REQUIRE(body->append(big, ignored));
        const std::uint64_t copied_before = out.bytes_copied();
        auto wp = co_await out.write(std::move(*body)); // above flush_at: sent at once
        REQUIRE(wp);
        CHECK(out.pending() == 0);
        copied_for_packet = out.bytes_copied() - copied_before;
        REQUIRE(p.shutdown(*c, shutdown_how::write));
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(send_zc_after_flush == 1);
    CHECK(writes_after_flush == 0);
    CHECK(copied_for_packet == 0);
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
}

TEMPLATE_TEST_CASE("both stacks: stream_writer with its pool empty flushes and writes plainly, "
                   "in order",
                   "[parity][stream_writer]", native_env, host_env) {
    buffer_pool pool({.buffer_size = 2048, .buffer_count = 2});
    TestType env;
    auto [ls, where] = listen_on(env);
    std::string expected, got;
    serve_one_reader(env, ls, got);
    std::uint64_t writes = 0;
    env.client->spawn([&, where = where]() -> task<void> {
        auto& p = *env.client;
        auto c = co_await p.connect(where);
        REQUIRE(c);
        stream_writer out(p, *c, pool, 1 << 20);
        // 10 writes of 1,000 bytes: the first four fill the two buffers, the rest find none
        // (the socket holds them until acknowledged) and go out as plain writes.
        for (int i = 0; i < 10; ++i) {
            const std::string chunk(1000, static_cast<char>('a' + i));
            expected += chunk;
            auto w = co_await out.write(chunk);
            REQUIRE(w);
        }
        auto f = co_await out.flush();
        REQUIRE(f);
        writes = p.calls(sysno::write);
        REQUIRE(p.shutdown(*c, shutdown_how::write));
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(writes > 0);
    CHECK(got == expected);
}

TEMPLATE_TEST_CASE("both stacks: stream_writer on a bad handle is EBADF and keeps its bytes",
                   "[parity][stream_writer]", native_env, host_env) {
    buffer_pool pool({.buffer_size = 2048, .buffer_count = 4});
    TestType env;
    env.client->spawn([&]() -> task<void> {
        stream_writer out(*env.client, handle{}, pool);
        auto w = co_await out.write("kept");
        REQUIRE(w);
        auto f = co_await out.flush();
        REQUIRE_FALSE(f);
        CHECK(f.error() == EBADF);
        CHECK(out.pending() == 4);
    });
    env.run(*env.client);
}

TEST_CASE("native stack: stream_writer's 100 small writes leave as one segment, plain writes "
          "with TCP_NODELAY as many",
          "[stream_writer]") {
    for (const bool gathered : {true, false}) {
        CAPTURE(gathered);
        buffer_pool pool({.buffer_size = 2048, .buffer_count = 8});
        native_env env;
        auto [ls, where] = listen_on(env);
        std::string got;
        serve_one_reader(env, ls, got);
        std::uint64_t segments = 0;
        env.client->spawn([&, where = where]() -> task<void> {
            auto& p = *env.client;
            auto c = co_await p.connect(where);
            REQUIRE(c);
            REQUIRE(p.set_socket_option(*c, socket_option::no_delay, 1));
            (void)co_await p.sleep(std::chrono::milliseconds(10)); // the handshake's ACK has gone
            const std::uint64_t before = env.pw.a.counters().read("tcp.out_segs").value();
            const std::string ten(10, 'x');
            if (gathered) {
                stream_writer out(p, *c, pool);
                for (int i = 0; i < 100; ++i) {
                    auto w = co_await out.write(ten);
                    REQUIRE(w);
                }
                auto f = co_await out.flush();
                REQUIRE(f);
                CHECK(out.pending() == 0);
            } else {
                for (int i = 0; i < 100; ++i) {
                    auto w = co_await p.write_all(*c, std::as_bytes(std::span(ten)));
                    REQUIRE(w);
                }
            }
            (void)co_await p.sleep(std::chrono::milliseconds(10)); // whatever was queued has left
            segments = env.pw.a.counters().read("tcp.out_segs").value() - before;
            REQUIRE(p.shutdown(*c, shutdown_how::write));
        });
        env.run(*env.client);
        env.run(*env.server);
        CHECK(got == std::string(1000, 'x'));
        if (gathered)
            CHECK(segments == 1);
        else
            CHECK(segments > 5); // one a write until cwnd fills, the rest coalesced behind it
    }
}

// SO_RCVTIMEO / SO_SNDTIMEO as socket options: served by the process layer, so both stacks
// agree (outcomes only: the host stack runs on real time). Linux says EAGAIN for a call that
// waited past its socket's timeout; a write returns what it took before.
TEMPLATE_TEST_CASE("both stacks: receive and send timeouts give EAGAIN and lose nothing",
                   "[parity][timeout]", native_env, host_env) {
    TestType env;
    auto [ls, where] = listen_on(env);
    const auto data = pattern(4 << 20, 5);
    int idle_accept = 0, idle_read = 0, blocked_write = 0;
    std::size_t early = 0, written = 0;
    std::vector<std::byte> got;
    bool may_connect = false, may_send = false, may_read = false;
    auto until = [](process& p, const bool& flag) -> task<void> {
        while (!flag)
            (void)co_await p.sleep(std::chrono::milliseconds(1));
    };
    env.server->spawn([&, ls = ls]() -> task<void> {
        REQUIRE(env.server->set_socket_option(ls, socket_option::receive_timeout, 50));
        auto none = co_await env.server->accept(ls); // nobody connects yet
        idle_accept = none ? 0 : none.error();
        may_connect = true;
        auto c = co_await env.server->accept(ls);
        REQUIRE(c);
        REQUIRE(env.server->set_socket_option(*c, socket_option::receive_timeout, 50));
        REQUIRE(env.server->set_socket_option(*c, socket_option::receive_buffer, 64 << 10));
        std::array<std::byte, 64> buf{};
        auto idle = co_await env.server->read(*c, buf); // nothing sent yet
        idle_read = idle ? -1 : idle.error();
        REQUIRE(env.server->set_socket_option(*c, socket_option::receive_timeout, 10000));
        may_send = true;
        auto n = co_await env.server->read(*c, buf); // in time
        early = n ? *n : 0;
        co_await until(*env.server, may_read); // the client's writes time out meanwhile
        std::vector<std::byte> chunk(16 << 10);
        for (;;) {
            auto r = co_await env.server->read(*c, chunk);
            REQUIRE(r);
            if (*r == 0) break;
            got.insert(got.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(*r));
        }
    });
    env.client->spawn([&, where = where]() -> task<void> {
        co_await until(*env.client, may_connect);
        auto c = co_await env.client->connect(where);
        REQUIRE(c);
        co_await until(*env.client, may_send);
        auto ping = co_await env.client->write_all(*c, std::as_bytes(std::span("ping", 4)));
        REQUIRE(ping);
        REQUIRE(env.client->set_socket_option(*c, socket_option::send_buffer, 64 << 10));
        REQUIRE(env.client->set_socket_option(*c, socket_option::send_timeout, 50));
        while (written < data.size()) { // the server does not read: the writes stop
            auto w = co_await env.client->write(*c, std::span(data).subspan(written));
            if (!w) {
                blocked_write = w.error();
                break;
            }
            written += *w;
        }
        REQUIRE(env.client->shutdown(*c, shutdown_how::write));
        may_read = true;
    });
    env.run(*env.client);
    env.run(*env.server);
    CHECK(idle_accept == EAGAIN);
    CHECK(idle_read == EAGAIN);
    CHECK(early == 4);
    CHECK(blocked_write == EAGAIN);
    CHECK(written > 0);
    CHECK(written < data.size());
    // Every byte a write took arrives, and none that it did not.
    REQUIRE(got.size() == written);
    CHECK(fnv1a(got) == fnv1a(std::vector<std::byte>(
                            data.begin(), data.begin() + static_cast<std::ptrdiff_t>(written))));
}

TEMPLATE_TEST_CASE("both stacks: tcp_info counts the bytes a connection carried, and its state",
                   "[parity][info]", native_env, host_env) {
    TestType env;
    auto [ls, where] = listen_on(env);
    const auto data = pattern(256 << 10, 6);
    tcp_info sender{}, receiver{}, half_closed{};
    bool measured = false; // the client's FIN waits for it: Linux counts a FIN in bytes_received
    env.server->spawn([&, ls = ls]() -> task<void> {
        auto c = co_await env.server->accept(ls);
        REQUIRE(c);
        auto sent = co_await env.server->write_all(*c, as_span(data));
        REQUIRE(sent);
        std::array<std::byte, 2> ok{};
        auto got = co_await env.server->read_exactly(*c, ok); // its segment acknowledges all
        REQUIRE(got);
        sender = env.server->tcp_info(*c).value();
        measured = true;
        std::array<std::byte, 1> end{};
        auto eof = co_await env.server->read(*c, end);
        REQUIRE(eof);
        half_closed = env.server->tcp_info(*c).value();
    });
    env.client->spawn([&, where = where]() -> task<void> {
        auto c = co_await env.client->connect(where);
        REQUIRE(c);
        std::vector<std::byte> in(data.size());
        auto got = co_await env.client->read_exactly(*c, in);
        REQUIRE(got);
        receiver = env.client->tcp_info(*c).value();
        auto sent = co_await env.client->write_all(*c, std::as_bytes(std::span("ok", 2)));
        REQUIRE(sent);
        while (!measured)
            (void)co_await env.client->sleep(std::chrono::milliseconds(1));
        REQUIRE(env.client->shutdown(*c, shutdown_how::write));
    });
    env.run(*env.client);
    env.run(*env.server);
    // Measured before any FIN, on the passive side for bytes_acked: Linux's counts sequence
    // space, so an active opener's has one more for its SYN.
    CHECK(sender.state == tcp_state::established);
    CHECK(sender.bytes_acked == data.size());
    CHECK(sender.bytes_received == 2);
    CHECK(receiver.state == tcp_state::established);
    CHECK(receiver.bytes_received == data.size());
    CHECK(half_closed.state == tcp_state::close_wait);
    CHECK(sender.snd_mss > 0);
    CHECK(sender.snd_cwnd > 0);
    CHECK(sender.rto > 0);
    CHECK(sender.unacked == 0);
    CHECK(sender.data_segs_out >= data.size() / sender.snd_mss);
    CHECK(receiver.data_segs_in > 0);
    auto udp = env.client->socket(socket_type::datagram).value();
    CHECK(env.client->tcp_info(udp).error() == EOPNOTSUPP);
    REQUIRE(env.client->close(udp));
    CHECK(env.client->tcp_info(udp).error() == EBADF);
}
