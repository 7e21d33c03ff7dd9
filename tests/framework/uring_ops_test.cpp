// The io_uring system calls as awaitables: bytes through pipes, socket pairs and a
// loopback TCP connection, and the errno values a C programmer expects.
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"

#include <arpa/inet.h>
#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

using namespace coronet;
namespace uring = coronet::uring;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

struct world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor reactor{sched};
};

struct fd_pair {
    int a = -1, b = -1;
    ~fd_pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};

fd_pair make_pipe() {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    return {p[0], p[1]};
}

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

} // namespace

TEST_CASE("write then read moves bytes through a pipe", "[uring][ops]") {
    world w;
    auto p = make_pipe();
    auto out = w.sched.run([&]() -> task<std::string> {
        auto wr = co_await uring::write(p.b, bytes("hello, ring"));
        REQUIRE(wr);
        CHECK(*wr == 11);
        std::array<std::byte, 64> buf{};
        auto rd = co_await uring::read(p.a, buf);
        REQUIRE(rd);
        co_return text(std::span(buf).first(*rd));
    }());
    CHECK(out == "hello, ring");
    CHECK(w.reactor.in_flight() == 0);
    CHECK(w.reactor.stats().completed == 2);
}

TEST_CASE("a read waits for data written later by another coroutine", "[uring][ops]") {
    world w;
    auto p = make_pipe();
    std::string got;
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        std::array<std::byte, 16> buf{};
        auto rd = co_await uring::read(p.a, buf);
        REQUIRE(rd);
        got = text(std::span(buf).first(*rd));
    });
    w.sched.run_once(false);
    CHECK(w.reactor.pending() == 1);
    scope.spawn([&]() -> task<void> {
        auto wr = co_await uring::write(p.b, bytes("late"));
        REQUIRE(wr);
    });
    w.sched.run(scope.join());
    CHECK(got == "late");
}

TEST_CASE("writev gathers and readv scatters", "[uring][ops]") {
    world w;
    auto p = make_pipe();
    std::string head = "head:", body = "body";
    std::array<char, 5> first{};
    std::array<char, 4> second{};
    auto n = w.sched.run([&]() -> task<std::size_t> {
        std::array<iovec, 2> out{iovec{head.data(), head.size()}, iovec{body.data(), body.size()}};
        auto wr = co_await uring::writev(p.b, out);
        REQUIRE(wr);
        CHECK(*wr == 9);
        std::array<iovec, 2> in{iovec{first.data(), first.size()}, iovec{second.data(), second.size()}};
        auto rd = co_await uring::readv(p.a, in);
        REQUIRE(rd);
        co_return *rd;
    }());
    CHECK(n == 9);
    CHECK(std::string(first.data(), first.size()) == "head:");
    CHECK(std::string(second.data(), second.size()) == "body");
}

TEST_CASE("send and recv over a socket pair", "[uring][ops]") {
    world w;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    fd_pair s{sv[0], sv[1]};
    auto got = w.sched.run([&]() -> task<std::string> {
        auto sent = co_await uring::send(s.a, bytes("ping"));
        REQUIRE(sent);
        std::array<std::byte, 8> buf{};
        auto rd = co_await uring::recv(s.b, buf);
        REQUIRE(rd);
        co_return text(std::span(buf).first(*rd));
    }());
    CHECK(got == "ping");
}

TEST_CASE("recv returns 0 once the peer has shut down", "[uring][ops]") {
    world w;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    fd_pair s{sv[0], sv[1]};
    REQUIRE(::shutdown(s.a, SHUT_WR) == 0);
    auto n = w.sched.run([&]() -> task<std::size_t> {
        std::array<std::byte, 8> buf{};
        auto rd = co_await uring::recv(s.b, buf);
        co_return rd.value();
    }());
    CHECK(n == 0);
}

TEST_CASE("accept and connect over loopback TCP", "[uring][ops]") {
    world w;
    fd_pair l;
    l.a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(l.a >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(l.a, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(l.a, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(l.a, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    l.b = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(l.b >= 0);

    fd_pair conn;
    std::string got;
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        auto fd = co_await uring::accept(l.a);
        REQUIRE(fd);
        conn.a = *fd;
        std::array<std::byte, 16> buf{};
        auto rd = co_await uring::recv(conn.a, buf);
        REQUIRE(rd);
        got = text(std::span(buf).first(*rd));
    });
    scope.spawn([&]() -> task<void> {
        auto c = co_await uring::connect(l.b, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        REQUIRE(c);
        auto sent = co_await uring::send(l.b, bytes("over tcp"));
        REQUIRE(sent);
    });
    w.sched.run(scope.join());
    CHECK(conn.a >= 0);
    CHECK(got == "over tcp");
}

TEST_CASE("connect to a closed port is refused", "[uring][ops]") {
    world w;
    fd_pair s;
    // Bind a port and close it again so nothing listens there.
    s.a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(s.a, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(s.a, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(s.a);
    s.a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto r = w.sched.run([&]() -> task<int> {
        auto c = co_await uring::connect(s.a, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        co_return c.error();
    }());
    CHECK(r == ECONNREFUSED);
}

TEST_CASE("a read on a bad descriptor fails with EBADF", "[uring][ops]") {
    world w;
    auto err = w.sched.run([&]() -> task<int> {
        std::array<std::byte, 4> buf{};
        auto rd = co_await uring::read(-1, buf);
        co_return rd.error();
    }());
    CHECK(err == EBADF);
}

TEST_CASE("a nop makes the round trip through the rings", "[uring][ops]") {
    world w;
    auto ok = w.sched.run([]() -> task<bool> {
        auto r = co_await uring::nop();
        co_return static_cast<bool>(r);
    }());
    CHECK(ok);
    CHECK(w.reactor.stats().submitted == 1);
    CHECK(w.reactor.stats().completed == 1);
    CHECK(w.reactor.pending() == 0);
}

TEST_CASE("the timeout op expires with success, not ETIME", "[uring][ops]") {
    world w;
    auto r = w.sched.run([]() -> task<int> {
        auto t = co_await uring::timeout(std::chrono::milliseconds(1));
        co_return t.error();
    }());
    CHECK(r == 0);
}

TEST_CASE("a zero-copy send resumes only after its notification, the second of its two CQEs",
          "[uring][ops][zero_copy]") {
    world w;
    if (!w.reactor.supports(IORING_OP_SEND_ZC)) return; // a kernel before 6.0
    // A loopback TCP connection made with plain system calls: nothing else in the ring.
    fd_pair l, conn;
    l.a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(l.a >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(l.a, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(l.a, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(l.a, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    conn.a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(::connect(conn.a, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    conn.b = ::accept4(l.a, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(conn.b >= 0);
    std::string data(32 << 10, '\0'); // fits the connection's buffers: nobody reads meanwhile
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
    const auto before = w.reactor.stats();
    result<std::size_t> sent = error{0};
    std::uint64_t cqes_at_resume = 0, completed_at_resume = 0;
    std::size_t in_flight_at_resume = 1;
    bool copied = false;
    w.sched.run(as_task([&]() -> task<void> {
        uring::send_zc_op op(w.reactor, conn.a, bytes(data), MSG_NOSIGNAL);
        sent = co_await uring::in_place{op};
        cqes_at_resume = w.reactor.stats().cqes - before.cqes;
        completed_at_resume = w.reactor.stats().completed - before.completed;
        in_flight_at_resume = w.reactor.in_flight();
        copied = op.copied();
    }));
    REQUIRE(sent);
    CHECK(*sent == data.size());
    CHECK(cqes_at_resume == 2);      // the result, then the notification
    CHECK(completed_at_resume == 1); // one operation, counted in flight until the second
    CHECK(in_flight_at_resume == 0);
    CHECK(copied); // a local peer: the kernel copied the pages after all
    std::string got(data.size(), '\0');
    CHECK(::recv(conn.b, got.data(), got.size(), MSG_WAITALL) == static_cast<ssize_t>(got.size()));
    CHECK(got == data);
}
