#pragma once
// Shards of the host stack for tests: each echo_shard is a thread with its own scheduler,
// io_uring, host_stack and process, sharing nothing with the others, listening on one port
// and echoing; the clients are plain blocking kernel sockets of the test's thread. Loopback
// only.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"
#include "tests/drivers/host_world.hpp"

#include <array>
#include <atomic>
#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace coronet::test {

inline task<void> echo(process& p, handle conn, std::size_t& echoed) {
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

// Two shards on one port, `first` listening first (index 0 of a reuse_port group); `second`
// listens where `first` does.
struct two_shards {
    explicit two_shards(host::host_options opts)
        : first(opts, {loopback, 0}), at(first.listening().value_or(endpoint{})), second(opts, at) {
    }
    bool listening() const noexcept { return first.listening() && second.listening(); }
    void stop() {
        first.stop();
        second.stop();
    }
    // After stop(): no accept failed, and both io_urings are empty.
    bool clean() const noexcept {
        return first.accept_failures + second.accept_failures == 0 && first.drained &&
               second.drained;
    }
    echo_shard first;
    endpoint at;
    echo_shard second;
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
inline std::vector<std::byte> request_of(int client, std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((client * 131 + static_cast<int>(i)) & 0xff);
    return bytes;
}

// n short connections to `at`, one after another (connect, one 64-byte request, close): how
// many got their request back exact.
inline int short_connections(const endpoint& at, int n) {
    int exact = 0;
    for (int i = 0; i < n; ++i) {
        kernel_client c(at);
        if (c.connected && c.round_trip(request_of(i, 64))) ++exact;
    }
    return exact;
}

} // namespace coronet::test
