// The host stack on several shards: each shard is a thread with its own scheduler, io_uring
// and host_stack, sharing nothing, and host_options::reuse_port lets every shard listen on
// the same port, the kernel spreading the connections across the listeners (SO_REUSEPORT).
// On loopback only; the clients are plain blocking kernel sockets of the test's thread.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <future>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

const ipv4_address loopback(127, 0, 0, 1);

task<void> echo(process& p, handle conn, std::size_t& echoed) {
    std::array<std::byte, 4096> buf{};
    for (;;) {
        auto n = co_await p.read(conn, buf);
        if (!n || *n == 0) break;
        auto sent = co_await p.write_all(conn, std::span(buf).first(*n));
        if (!sent) break;
        echoed += *n;
    }
    (void)co_await p.close(conn);
}

// One shard: a thread that builds its scheduler, reactor and host stack (a scheduler belongs
// to the thread that made it), listens on `at` and echoes every connection until stop().
class echo_shard {
public:
    echo_shard(host::host_options opts, endpoint at)
        : thread_([this, opts, at] { run(opts, at); }) {
        listening_ = ready_.get_future().get();
    }
    ~echo_shard() { stop(); }
    echo_shard(const echo_shard&) = delete;
    echo_shard& operator=(const echo_shard&) = delete;

    // Where it listens, or why it could not.
    const result<endpoint>& listening() const noexcept { return listening_; }
    // Ends the accept loop (within one accept timeout), waits for the sessions to end (their
    // clients close them) and the thread with them.
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

    // Read after stop().
    int accepted = 0;
    int accept_failures = 0;
    std::size_t echoed = 0;
    bool drained = false; // nothing of the shard's left in its io_uring

private:
    void run(host::host_options opts, endpoint at) {
        scheduler sched;
        uring::uring_reactor reactor{sched};
        host::host_stack stack(reactor, opts);
        auto p = process::create("shard", &stack);
        auto ls = p->listen(at, {.backlog = 1024});
        if (!ls) return ready_.set_value(error{ls.error()});
        // The accept loop looks at stop_ at least this often: another thread cannot close
        // this shard's handles, and there is no cross-shard message here yet.
        (void)p->set_socket_option(*ls, socket_option::receive_timeout, 20);
        ready_.set_value(p->get_socket_name(*ls));
        p->spawn([&]() -> task<void> {
            while (!stop_) {
                auto conn = co_await p->accept(*ls);
                if (conn) {
                    ++accepted;
                    p->spawn(echo(*p, *conn, echoed));
                } else if (conn.error() != EAGAIN) {
                    ++accept_failures;
                    break;
                }
            }
            (void)co_await p->close(*ls);
        });
        sched.run(p->join());
        drained = sched.run_until([&] { return reactor.in_flight() == 0; });
    }

    std::promise<result<endpoint>> ready_;
    result<endpoint> listening_ = error{EINVAL};
    std::atomic<bool> stop_ = false;
    std::thread thread_;
};

// A blocking kernel socket connected to `to`; a lost answer fails the test instead of hanging
// it (SO_RCVTIMEO).
struct kernel_client {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    explicit kernel_client(const endpoint& to) {
        const timeval tv{.tv_sec = 5, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const sockaddr_in sa = host::to_sockaddr(to);
        connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    }
    ~kernel_client() { ::close(fd); }
    kernel_client(const kernel_client&) = delete;
    kernel_client& operator=(const kernel_client&) = delete;

    // Sends `bytes` and reads as many back: true if they came back exact.
    bool round_trip(const std::vector<std::byte>& bytes) const {
        if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(bytes.size()))
            return false;
        std::vector<std::byte> back(bytes.size());
        std::size_t got = 0;
        while (got < back.size()) {
            auto n = ::recv(fd, back.data() + got, back.size() - got, 0);
            if (n <= 0) return false;
            got += static_cast<std::size_t>(n);
        }
        return back == bytes;
    }
    bool connected = false;
};

// Bytes that differ from one client to the next, so a reply sent to the wrong client shows.
std::vector<std::byte> request_of(int client, std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((client * 131 + static_cast<int>(i)) & 0xff);
    return bytes;
}

host::host_options reusing() { return {.reuse_port = true}; }

} // namespace

TEST_CASE("host stack: two shards listening on one port with reuse_port share 64 connections",
          "[host][reuse_port]") {
    constexpr int n = 64;
    echo_shard first(reusing(), {loopback, 0});
    REQUIRE(first.listening());
    const endpoint at = *first.listening();
    echo_shard second(reusing(), at);
    REQUIRE(second.listening());
    CHECK(*second.listening() == at);

    // All connected first, so that each listener's share is the kernel's choice alone.
    std::vector<std::unique_ptr<kernel_client>> clients;
    for (int i = 0; i < n; ++i)
        clients.push_back(std::make_unique<kernel_client>(at));
    int exact = 0;
    for (int i = 0; i < n; ++i) {
        REQUIRE(clients[i]->connected);
        if (clients[i]->round_trip(request_of(i, 1000 + i))) ++exact;
    }
    clients.clear(); // their sessions read the end of stream and close
    first.stop();
    second.stop();

    std::printf("64 connections over two reuse_port listeners: %d and %d\n", first.accepted,
                second.accepted);
    CHECK(exact == n);
    CHECK(first.accepted > 0);
    CHECK(second.accepted > 0);
    CHECK(first.accepted + second.accepted == n);
    CHECK(first.echoed + second.echoed == n * 1000 + n * (n - 1) / 2);
    CHECK(first.accept_failures + second.accept_failures == 0);
    CHECK(first.drained);
    CHECK(second.drained);
}

TEST_CASE("host stack: 1,000 short connections spread over two reuse_port shards",
          "[host][reuse_port]") {
    constexpr int n = 1000;
    echo_shard first(reusing(), {loopback, 0});
    REQUIRE(first.listening());
    const endpoint at = *first.listening();
    echo_shard second(reusing(), at);
    REQUIRE(second.listening());
    int exact = 0;
    for (int i = 0; i < n; ++i) { // connect, one request, close
        kernel_client c(at);
        if (c.connected && c.round_trip(request_of(i, 64))) ++exact;
    }
    first.stop();
    second.stop();
    std::printf("1,000 short connections over two reuse_port listeners: %d and %d\n",
                first.accepted, second.accepted);
    CHECK(exact == n);
    CHECK(first.accepted > 0);
    CHECK(second.accepted > 0);
    CHECK(first.accepted + second.accepted == n);
    CHECK(first.drained);
    CHECK(second.drained);
}

TEST_CASE("host stack: without reuse_port a second listener on a port in use fails with "
          "EADDRINUSE",
          "[host][reuse_port]") {
    // The other stack reuses the port; the kernel wants every listener of a port to.
    const bool first_reuses = GENERATE(false, true);
    CAPTURE(first_reuses);
    echo_shard first({.reuse_port = first_reuses}, {loopback, 0});
    REQUIRE(first.listening());
    echo_shard second({}, *first.listening());
    REQUIRE_FALSE(second.listening());
    CHECK(second.listening().error() == EADDRINUSE);
}

namespace {

// Binds a new socket of `type` to `at` after setting socket_option::reuse_port to `reuse`
// (none when negative): the bind's result, the bound endpoint on success.
result<endpoint> bind_one(process& p, socket_type type, const endpoint& at, int reuse) {
    auto h = p.socket(type);
    if (!h) return error{h.error()};
    if (reuse >= 0) {
        if (auto r = p.set_socket_option(*h, socket_option::reuse_port, reuse); !r)
            return error{r.error()};
    }
    if (auto r = p.bind(*h, at); !r) return error{r.error()};
    return p.get_socket_name(*h);
}

} // namespace

TEST_CASE("host stack: socket_option::reuse_port is SO_REUSEPORT, for stream and datagram "
          "sockets",
          "[host][reuse_port]") {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    const bool stack_reuses = GENERATE(false, true);
    CAPTURE(stack_reuses);
    host::host_stack stack(reactor, {.reuse_port = stack_reuses});
    auto p = process::create("app", &stack);
    const socket_type type = GENERATE(socket_type::stream, socket_type::datagram);
    CAPTURE(type == socket_type::stream);

    auto h = p->socket(type).value();
    CHECK(p->get_socket_option(h, socket_option::reuse_port).value() == (stack_reuses ? 1 : 0));

    // Set on both sockets by the application: the second bind shares the port.
    auto first = bind_one(*p, type, {loopback, 0}, 1);
    REQUIRE(first);
    CHECK(bind_one(*p, type, *first, 1).value() == *first);
    // Turned off on a socket before its bind: the port is not shared with it.
    CHECK(bind_one(*p, type, *first, 0).error() == EADDRINUSE);
    // Left as the stack made it.
    const auto left = bind_one(*p, type, *first, -1);
    if (stack_reuses)
        CHECK(left.value() == *first);
    else
        CHECK(left.error() == EADDRINUSE);

    // And through listen_options: a listener beside one of the stack's own.
    auto ls = p->listen({loopback, 0}, {.reuse_port = true});
    REQUIRE(ls);
    const endpoint at = p->get_socket_name(*ls).value();
    CHECK(p->listen(at, {.reuse_port = true}).has_value());
    const auto plain = p->listen(at, {.reuse_port = false}); // the stack's default
    if (stack_reuses)
        CHECK(plain.has_value());
    else
        CHECK(plain.error() == EADDRINUSE);
}
