// The host stack: the socket system calls served by Linux's own TCP/IP through io_uring,
// on the loopback interface only.
#include "tests/drivers/host_world.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::test::bytes_of;
using coronet::test::loopback;

namespace {

using world = coronet::test::host_world;

std::string text_of(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

} // namespace

TEST_CASE("host stack: TCP echo over loopback through the socket system calls", "[host][tcp]") {
    world w;
    auto server = process::create("server", &w.stack);
    auto client = process::create("client", &w.stack);
    auto ls = server->listen({loopback, 0});
    REQUIRE(ls);
    auto local = server->get_socket_name(*ls);
    REQUIRE(local);
    CHECK(local->port.value() != 0);

    server->spawn([&]() -> task<void> {
        auto conn = co_await server->accept(*ls);
        REQUIRE(conn);
        std::array<std::byte, 1024> buf{};
        for (;;) {
            auto n = co_await server->read(*conn, buf);
            if (!n || *n == 0) break;
            auto ok = co_await server->write_all(*conn, std::span(buf).first(*n));
            REQUIRE(ok);
        }
        (void)co_await server->close(*conn);
    });
    std::string reply;
    client->spawn([&]() -> task<void> {
        auto conn = co_await client->connect(*local);
        REQUIRE(conn);
        auto peer = client->get_peer_name(*conn);
        CHECK(peer.value() == *local);
        std::string msg(100'000, 'x');
        for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
        auto sent = co_await client->write_all(*conn, bytes_of(msg));
        REQUIRE(sent);
        std::string back(msg.size(), '\0');
        auto got = co_await client->read_exactly(*conn, std::as_writable_bytes(std::span(back)));
        REQUIRE(got);
        reply = back == msg ? "match" : "mismatch";
        (void)co_await client->close(*conn);
    });
    w.sched.run(client->join());
    w.sched.run(server->join());
    CHECK(reply == "match");
}

TEST_CASE("host stack: connecting to a closed port is ECONNREFUSED", "[host][tcp]") {
    world w;
    auto p = process::create("client", &w.stack);
    // Take a free port and close it again, so nobody listens there.
    auto probe = p->listen({loopback, 0}).value();
    auto free_port = p->get_socket_name(probe).value();
    REQUIRE(p->close(probe));
    auto r = w.sched.run(p->connect(free_port));
    CHECK(r.error() == ECONNREFUSED);
    CHECK(p->handles().count() == 0);
}

TEST_CASE("host stack: an abortive close by the peer is ECONNRESET", "[host][tcp]") {
    world w;
    auto p = process::create("both", &w.stack);
    auto ls = p->listen({loopback, 0}).value();
    auto where = p->get_socket_name(ls).value();
    int read_error = 0;
    p->spawn([&]() -> task<void> {
        auto conn = co_await p->accept(ls);
        REQUIRE(conn);
        REQUIRE(p->set_socket_option(*conn, socket_option::linger, 0)); // close sends RST
        (void)co_await p->close(*conn);
    });
    p->spawn([&]() -> task<void> {
        auto conn = co_await p->connect(where);
        REQUIRE(conn);
        std::array<std::byte, 16> buf{};
        auto n = co_await p->read(*conn, buf);
        read_error = n ? 0 : n.error();
    });
    w.sched.run(p->join());
    CHECK(read_error == ECONNRESET);
}

TEST_CASE("host stack: closing a handle ends the calls waiting on it", "[host][tcp][cancel]") {
    world w;
    auto p = process::create("closer", &w.stack);
    auto ls = p->listen({loopback, 0}).value();
    int accept_error = 0;
    p->spawn([&]() -> task<void> {
        auto conn = co_await p->accept(ls);
        accept_error = conn ? 0 : conn.error();
    });
    w.sched.run_once(false);
    w.sched.run_once(false);
    REQUIRE(p->close(ls));
    w.sched.run(p->join());
    CHECK(accept_error != 0); // ECANCELED or EINVAL, as the kernel reports a shut-down listener
    CHECK(w.reactor.in_flight() == 0);
}

TEST_CASE("host stack: terminating a process cancels its blocked reads", "[host][cancel]") {
    world w;
    auto reader = process::create("reader", &w.stack);
    auto peer = process::create("peer", &w.stack); // keeps its end open and silent
    auto ls = peer->listen({loopback, 0}).value();
    auto where = peer->get_socket_name(ls).value();
    int read_error = 0;
    handle accepted{};
    peer->spawn([&]() -> task<void> {
        auto conn = co_await peer->accept(ls);
        REQUIRE(conn);
        accepted = *conn;
    });
    reader->spawn([&]() -> task<void> {
        auto conn = co_await reader->connect(where);
        REQUIRE(conn);
        std::array<std::byte, 16> buf{};
        auto n = co_await reader->read(*conn, buf); // nobody writes: waits until cancelled
        read_error = n ? 0 : n.error();
    });
    w.sched.run_until([&] { return bool(accepted); });
    w.sched.run_once(false);
    reader->terminate("test over");
    w.sched.run(reader->join());
    CHECK(read_error == ECANCELED);
    CHECK(peer->alive());
    peer->terminate("done");
    w.sched.run(peer->join());
    // The peer's listener still had its multishot accept armed: the close cancels it, and
    // the kernel's answer may come after the process has ended. Nothing may stay behind.
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host stack: UDP datagrams with their sender's address, truncation and EAGAIN", "[host][udp]") {
    world w;
    auto p = process::create("udp", &w.stack);
    auto a = p->socket(socket_type::datagram).value();
    auto b = p->socket(socket_type::datagram).value();
    REQUIRE(p->bind(a, {loopback, 0}));
    REQUIRE(p->bind(b, {loopback, 0}));
    auto a_addr = p->get_socket_name(a).value();
    auto b_addr = p->get_socket_name(b).value();
    CHECK(p->bind(b, a_addr).error() == EINVAL); // already bound
    auto c = p->socket(socket_type::datagram).value();
    CHECK(p->bind(c, a_addr).error() == EADDRINUSE);

    w.sched.run([&]() -> task<void> {
        auto sent = co_await p->send_to(a, bytes_of("hello, b"), b_addr);
        REQUIRE(sent);
        CHECK(*sent == 8);
        std::array<std::byte, 64> buf{};
        auto got = co_await p->recv_from(b, buf);
        REQUIRE(got);
        CHECK(got->from == a_addr);
        CHECK(text_of(std::span(buf).first(got->size)) == "hello, b");
        CHECK_FALSE(got->truncated);
        (void)co_await p->send_to(a, bytes_of("a longer datagram"), b_addr);
        std::array<std::byte, 4> small{};
        auto cut = co_await p->recv_from(b, small);
        REQUIRE(cut);
        CHECK(cut->truncated);
        CHECK(text_of(small) == "a lo");
        REQUIRE(p->set_socket_option(b, socket_option::non_blocking, 1));
        auto none = co_await p->recv_from(b, buf);
        CHECK(none.error() == EAGAIN);
    }());
}

TEST_CASE("host stack: socket options reach the kernel", "[host][options]") {
    world w;
    auto p = process::create("opts", &w.stack);
    auto s = p->socket(socket_type::stream).value();
    REQUIRE(p->set_socket_option(s, socket_option::no_delay, 1));
    CHECK(p->get_socket_option(s, socket_option::no_delay).value() == 1);
    REQUIRE(p->set_socket_option(s, socket_option::keep_idle, 77));
    CHECK(p->get_socket_option(s, socket_option::keep_idle).value() == 77);
    REQUIRE(p->set_socket_option(s, socket_option::linger, 5));
    CHECK(p->get_socket_option(s, socket_option::linger).value() == 5);
    REQUIRE(p->set_socket_option(s, socket_option::congestion_control, 0));
    CHECK(p->get_socket_option(s, socket_option::congestion_control).value() == 0);
    CHECK(p->set_socket_option(s, socket_option::congestion_control, 9).error() == EINVAL);
}

TEST_CASE("host stack: send_zc of a packet of 150 slices arrives byte-exact, blocking and "
          "non-blocking",
          "[host][tcp][zero_copy]") {
    const bool non_blocking = GENERATE(false, true);
    CAPTURE(non_blocking);
    world w;
    buffer_pool pool({.buffer_size = 1024, .buffer_count = 160});
    auto server = process::create("server", &w.stack);
    auto client = process::create("client", &w.stack);
    auto ls = server->listen({loopback, 0});
    REQUIRE(ls);
    auto local = server->get_socket_name(*ls);
    REQUIRE(local);
    // 150 slices of 1,000 bytes (more than one sendmsg gathers), each a different letter.
    std::string want;
    packet data;
    for (int i = 0; i < 150; ++i) {
        auto b = pool.allocate().value();
        for (std::size_t k = 0; k < 1000; ++k)
            b.data()[k] = static_cast<std::byte>('A' + (i + k) % 26);
        REQUIRE(data.append_slice(b, 0, 1000));
        want += text_of(b.data().first(1000));
    }
    std::string got;
    server->spawn([&]() -> task<void> {
        auto conn = co_await server->accept(*ls);
        REQUIRE(conn);
        std::array<std::byte, 4096> buf{};
        for (;;) {
            auto n = co_await server->read(*conn, buf);
            if (!n || *n == 0) break;
            got += text_of(std::span(buf).first(*n));
        }
        (void)co_await server->close(*conn);
    });
    std::size_t left = SIZE_MAX;
    client->spawn([&]() -> task<void> {
        auto conn = co_await client->connect(*local);
        REQUIRE(conn);
        if (non_blocking) REQUIRE(client->set_socket_option(*conn, socket_option::non_blocking, 1));
        while (!data.empty()) {
            auto n = co_await client->send_zc(*conn, data);
            if (!n && n.error() == EAGAIN) {
                co_await yield{};
                continue;
            }
            REQUIRE(n);
        }
        left = data.length();
        (void)co_await client->close(*conn);
    });
    w.sched.run(client->join());
    w.sched.run(server->join());
    CHECK(left == 0);
    CHECK(got == want);
    data.reset();              // an emptied packet may keep its (empty) head slice
    CHECK(pool.in_use() == 0); // the kernel copied them: nothing else holds a buffer
}
