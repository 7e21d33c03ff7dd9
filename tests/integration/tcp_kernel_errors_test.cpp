// What coronet's native TCP reports when the Linux kernel on the other end of a TAP device
// (in the test's own namespace) refuses, resets, closes first or goes away: the errors that
// framework/process/socket.hpp documents for connect, read and write.
#include "drivers/tap/tap_nic.hpp"
#include "framework/coronet.hpp"
#include "protocols/stack/launch.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <catch2/catch.hpp>

#include <functional>

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

namespace {

// A kernel thread that accepts one connection and runs `body` on it (then closes it, if
// body has not). `fd` shows the connection to the test while it is open.
struct kernel_peer_thread {
    std::atomic<bool> done{false};
    std::atomic<int> fd{-1};
    std::thread thread;
    kernel_peer_thread(const kernel_listener& l, std::function<void(int)> body)
        : thread([this, &l, body = std::move(body)] {
              int c = l.accept();
              fd = c;
              if (c >= 0) body(c);
              done = true;
          }) {}
    ~kernel_peer_thread() { thread.join(); }
    kernel_peer_thread(const kernel_peer_thread&) = delete;
    kernel_peer_thread& operator=(const kernel_peer_thread&) = delete;
};

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

} // namespace

TEST_CASE("connect to a kernel port with no listener: ECONNREFUSED") {
    CORONET_ENTER_NETNS();
    int err = 0;
    std::uint64_t fails = 0;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto c = co_await ctx.proc.connect({kernel_ip, 9});
        err = c ? 0 : c.error();
        fails = ctx.counters.read("tcp.attempt_fails").value_or(0);
        ctx.finish();
    });
    CHECK(rc == 0);
    CHECK(err == ECONNREFUSED);
    CHECK(fails == 1);
}

TEST_CASE("the kernel resets the connection (SO_LINGER 0): read and write give ECONNRESET") {
    CORONET_ENTER_NETNS();
    kernel_listener l(5003);
    REQUIRE(l.ok());
    kernel_peer_thread peer(l, [](int fd) {
        char c;
        (void)::read(fd, &c, 1); // coronet's byte: the connection is established both ways
        linger lg{.l_onoff = 1, .l_linger = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(fd); // RST
    });
    int read_err = 0, write_err = 0;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        auto c = co_await p.connect({kernel_ip, 5003});
        if (!c) co_return ctx.finish(1);
        (void)co_await p.write_all(*c, bytes("x"));
        std::array<std::byte, 16> buf;
        auto r = co_await p.read(*c, buf);
        read_err = r ? 0 : r.error();
        auto w = co_await p.write(*c, bytes("after"));
        write_err = w ? 0 : w.error();
        ctx.finish();
    });
    CHECK(rc == 0);
    CHECK(read_err == ECONNRESET);
    CHECK(write_err == ECONNRESET);
}

TEST_CASE("the kernel closes first: coronet reads the data, then end of stream; its writes "
          "succeed until the kernel's RST, then ECONNRESET") {
    CORONET_ENTER_NETNS();
    kernel_listener l(5004);
    REQUIRE(l.ok());
    kernel_peer_thread peer(l, [](int fd) {
        (void)!::write(fd, "bye", 3);
        ::close(fd); // FIN; data arriving after it is answered with RST
    });
    std::string got;
    bool end_of_stream = false;
    int first_write = -1, write_err = 0, writes_ok = 0, read_after = 0;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        auto c = co_await p.connect({kernel_ip, 5004});
        if (!c) co_return ctx.finish(1);
        std::array<std::byte, 16> buf;
        for (;;) {
            auto r = co_await p.read(*c, buf);
            if (!r) break;
            if (*r == 0) {
                end_of_stream = true;
                break;
            }
            got.append(reinterpret_cast<const char*>(buf.data()), *r);
        }
        // Half-closed by the kernel: coronet's side is still open for writing.
        auto w = co_await p.write(*c, bytes("still here"));
        first_write = w ? static_cast<int>(*w) : -w.error();
        for (int i = 0; i < 100 && write_err == 0; ++i) {
            (void)co_await sleep_for(20ms);
            auto more = co_await p.write(*c, bytes("more"));
            if (more)
                ++writes_ok;
            else
                write_err = more.error();
        }
        auto r = co_await p.read(*c, buf);
        read_after = r ? static_cast<int>(*r) : r.error();
        ctx.finish();
    });
    CHECK(rc == 0);
    CHECK(got == "bye");
    CHECK(end_of_stream);
    CHECK(first_write == 10);
    CHECK(write_err == ECONNRESET);
    CHECK(writes_ok < 100);
    CHECK(read_after == ECONNRESET);
}

TEST_CASE("the kernel goes away mid-transfer (its address removed): coronet's write and read "
          "fail with ETIMEDOUT after the user timeout") {
    CORONET_ENTER_NETNS();
    kernel_listener l(5005);
    REQUIRE(l.ok());
    std::atomic<std::uint64_t> kernel_got{0};
    kernel_peer_thread peer(l, [&kernel_got](int fd) {
        std::vector<char> buf(65536);
        for (;;) {
            auto n = ::read(fd, buf.data(), buf.size());
            if (n <= 0) break; // the test shuts the socket down at the end
            kernel_got += static_cast<std::uint64_t>(n);
        }
        ::close(fd);
    });
    int write_err = 0, read_err = 0;
    std::uint64_t sent = 0, sent_before = 0;
    command_output flush;
    duration waited{};
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        auto c = co_await p.connect({kernel_ip, 5005});
        if (!c) co_return ctx.finish(1);
        (void)co_await p.set_socket_option(*c, socket_option::user_timeout, 1000);
        std::vector<std::byte> chunk(16384, std::byte{'k'});
        // A transfer under way: the kernel has read some of what coronet writes.
        while (kernel_got < (512u << 10)) {
            auto w = co_await p.write(*c, chunk);
            if (!w) break;
            sent += *w;
        }
        sent_before = sent;
        // The kernel's end loses its address: segments to 10.0.0.1 are dropped from now on,
        // without an answer.
        std::vector<std::string> argv = {"ip", "addr", "flush", "dev", ctx.tap->name()};
        flush = co_await run_async(argv);
        auto start = ctx.sched.now();
        for (int i = 0; i < 100000 && write_err == 0; ++i) {
            auto w = co_await p.write(*c, chunk);
            if (w)
                sent += *w;
            else
                write_err = w.error();
        }
        waited = ctx.sched.now() - start;
        std::array<std::byte, 16> buf;
        auto r = co_await p.read(*c, buf);
        read_err = r ? 0 : r.error();
        if (int fd = peer.fd; fd >= 0) ::shutdown(fd, SHUT_RDWR); // ends the kernel's read
        ctx.finish();
    });
    CHECK(rc == 0);
    CHECK(flush.status == 0);
    CHECK(sent_before >= (512u << 10));
    INFO("ETIMEDOUT after " << std::chrono::duration<double>(waited).count() << " s");
    CHECK(write_err == ETIMEDOUT);
    CHECK(read_err == ETIMEDOUT);
}
