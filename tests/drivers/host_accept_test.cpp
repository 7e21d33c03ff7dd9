// The host stack's accept: a blocking listener takes connections through one multishot
// accept (drivers/host/host_socket_accept.cpp), or one accept operation per call as on a
// kernel without it; every case runs both ways. On loopback only; the clients are plain
// kernel sockets of the test, connected before the server accepts, so every connection
// already waits in the listener's backlog.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"
#include "framework/when_any.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct world {
    explicit world(bool multishot) : stack(reactor, {.multishot_accept = multishot}) {}
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack;
};

const ipv4_address loopback(127, 0, 0, 1);

// Kernel sockets connected to `to`, closed at the end. A loopback connect completes at once
// (the listener's backlog holds the connection until it is accepted).
struct kernel_clients {
    std::vector<int> fds;
    kernel_clients(const endpoint& to, int n) {
        const sockaddr_in sa = host::to_sockaddr(to);
        for (int i = 0; i < n; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            timeval tv{.tv_sec = 5, .tv_usec = 0}; // a lost close fails the test, not hangs it
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
            fds.push_back(fd);
        }
    }
    ~kernel_clients() {
        for (int fd : fds)
            ::close(fd);
    }
    kernel_clients(const kernel_clients&) = delete;
    kernel_clients& operator=(const kernel_clients&) = delete;
};

} // namespace

TEST_CASE("host stack: a burst of connections is accepted, each once, with a few submissions",
          "[host][accept]") {
    constexpr int n = 200; // beyond the 64 that may wait taken: the multishot pauses and resumes
    const bool multishot = GENERATE(true, false); // false: one accept operation per call
    CAPTURE(multishot);
    world w(multishot);
    auto p = process::create("server", &w.stack);
    auto ls = p->listen({loopback, 0}, {.backlog = n}).value();
    kernel_clients clients(p->get_socket_name(ls).value(), n);
    std::set<std::uint16_t> peers;
    int failures = 0;
    const auto submitted_before = w.reactor.stats().submitted;
    p->spawn([&]() -> task<void> {
        for (int i = 0; i < n; ++i) {
            auto conn = co_await p->accept(ls);
            if (!conn) {
                ++failures;
                continue;
            }
            peers.insert(p->get_peer_name(*conn).value().port.value());
            (void)co_await p->close(*conn);
        }
    });
    w.sched.run(p->join());
    const auto submissions = w.reactor.stats().submitted - submitted_before;
    CHECK(failures == 0);
    CHECK(peers.size() == n); // every client, none twice
    // A single accept per connection is n submissions (the closes are plain close(2)
    // here); a multishot is one per 64 and a cancel for each pause.
    if (multishot)
        CHECK(submissions < n / 4);
    else
        CHECK(submissions == n);
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host stack: connections taken from the kernel but never accepted are closed with "
          "the listener",
          "[host][accept]") {
    constexpr int n = 10;
    const bool multishot = GENERATE(true, false); // false: one accept operation per call
    CAPTURE(multishot);
    world w(multishot);
    auto p = process::create("server", &w.stack);
    auto ls = p->listen({loopback, 0}, {.backlog = n}).value();
    kernel_clients clients(p->get_socket_name(ls).value(), n);
    bool accepted_one = false;
    p->spawn([&]() -> task<void> {
        auto conn = co_await p->accept(ls);
        accepted_one = conn.has_value();
        // The multishot has taken (or will take) the other nine; none is accepted.
        for (int i = 0; i < 10; ++i)
            (void)co_await p->sleep(1ms);
        (void)p->close(ls);
        if (conn) (void)co_await p->close(*conn);
    });
    w.sched.run(p->join());
    CHECK(accepted_one);
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
    // Every client sees its connection end (EOF or a reset), none waits for ever: a taken
    // descriptor that leaked would leave its client's read to time out (EAGAIN).
    int ended = 0;
    for (int fd : clients.fds) {
        char c;
        const auto got = ::recv(fd, &c, 1, 0);
        ended += got == 0 || (got < 0 && errno == ECONNRESET);
    }
    CHECK(ended == n);
}

TEST_CASE("host stack: an accept cancelled while it waits leaves the listener accepting",
          "[host][accept][cancel]") {
    const bool multishot = GENERATE(true, false); // false: one accept operation per call
    CAPTURE(multishot);
    world w(multishot);
    auto p = process::create("server", &w.stack);
    auto ls = p->listen({loopback, 0}).value();
    const endpoint where = p->get_socket_name(ls).value();
    int first_error = 0;
    bool second = false;
    p->spawn([&]() -> task<void> {
        // Nobody connects: the sleep wins and the accept is cancelled.
        auto r = co_await when_any(p->accept(ls), p->sleep(20ms));
        if (r.index() == 0) co_return;
        first_error = ECANCELED;
        kernel_clients late(where, 1);
        auto conn = co_await p->accept(ls);
        second = conn.has_value();
        if (conn) (void)co_await p->close(*conn);
        (void)p->close(ls);
    });
    w.sched.run(p->join());
    CHECK(first_error == ECANCELED);
    CHECK(second);
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host stack: a non-blocking accept takes what the multishot accepted, then EAGAIN",
          "[host][accept]") {
    constexpr int n = 3;
    const bool multishot = GENERATE(true, false); // false: one accept operation per call
    CAPTURE(multishot);
    world w(multishot);
    auto p = process::create("server", &w.stack);
    auto ls = p->listen({loopback, 0}, {.backlog = n}).value();
    kernel_clients clients(p->get_socket_name(ls).value(), n);
    int taken = 0, last_error = 0;
    p->spawn([&]() -> task<void> {
        auto first = co_await p->accept(ls); // arms the multishot, which takes all three
        taken += first.has_value();
        REQUIRE(p->set_socket_option(ls, socket_option::non_blocking, 1));
        // The other two are in the multishot's queue, or in the CQ on their way there, or
        // still in the kernel's backlog: a non-blocking accept finds each wherever it is.
        for (int tries = 0; taken < n && tries < 1000; ++tries) {
            auto conn = co_await p->accept(ls);
            if (conn)
                ++taken;
            else
                (void)co_await p->sleep(1ms);
        }
        auto none = co_await p->accept(ls);
        last_error = none ? 0 : none.error();
        (void)p->close(ls);
    });
    w.sched.run(p->join());
    CHECK(taken == n);
    CHECK(last_error == EAGAIN);
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}
