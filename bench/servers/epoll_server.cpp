// bench_epoll_server: the kernel baseline of scripts/bench, a plain epoll server written for
// the benchmark: one thread, non-blocking sockets, level-triggered epoll, no library. It
// serves the echo service (every byte back) or HTTP/1.1 with coronet-httpd's logic
// (responder.hpp: /hello and files, keep-alive, pipelining), byte for byte the same.
//
//   bench_epoll_server echo 7008
//   bench_epoll_server http 18082 ./www     # port 0: any free port
//
// It prints "listening on port N" once it accepts. Back-pressure: while a connection's
// output is not all written, it is not read (so a client that does not read cannot make the
// server queue without bound), and a request's head is bounded by the parser (8 KiB, 431).
#include "bench/servers/responder.hpp"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

using namespace coronet;
using namespace coronet::bench;

namespace {

constexpr std::size_t max_connections = 10000; // coronet-httpd's default
constexpr std::size_t read_size = 16384;       // coronet-echo's and coronet-httpd's buffer

// Bytes still to write: a shared string from an offset.
struct piece {
    std::shared_ptr<const std::string> data;
    std::size_t off = 0;
};

struct connection {
    int fd = -1;
    std::string in; // HTTP: bytes received and not yet parsed
    std::deque<piece> out;
    bool close_after = false; // once `out` is written
    std::uint32_t events = 0; // as registered with epoll
};

class server {
public:
    server(bool http, std::string root) : http_(http), responder_(std::move(root)) {}
    int run(std::uint16_t port);

private:
    void accept_all();
    void readable(connection& c);
    void writable(connection& c);
    void serve_input(connection& c);
    void send(connection& c, std::string_view head, std::shared_ptr<const std::string> body,
              std::string* head_owner);
    bool flush(connection& c);
    void watch(connection& c);
    void close(connection& c);

    bool http_;
    responder responder_;
    int epoll_ = -1;
    int listener_ = -1;
    std::size_t open_ = 0;
    std::array<char, read_size> buf_{};
};

int server::run(std::uint16_t port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 1024) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        std::fprintf(stderr, "bench_epoll_server: port %u: %s\n", port, std::strerror(errno));
        return 1;
    }
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr; // the listener
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &ev);
    std::printf("listening on port %u\n", ntohs(a.sin_port));
    std::fflush(stdout);
    std::array<epoll_event, 256> events;
    for (;;) {
        const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1;
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<connection*>(events[i].data.ptr);
            if (!c) {
                accept_all();
            } else if (events[i].events & (EPOLLERR | EPOLLHUP) && c->out.empty() &&
                       !(events[i].events & EPOLLIN)) {
                close(*c);
            } else if (c->events & EPOLLOUT) {
                writable(*c);
            } else {
                readable(*c);
            }
        }
    }
}

void server::accept_all() {
    for (;;) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; // EAGAIN, or a connection reset before accept, or out of fds
        if (open_ >= max_connections) {
            if (http_) {
                const auto busy = http::error_response(503, false);
                (void)!::write(fd, busy.data(), busy.size());
            }
            ::close(fd);
            continue;
        }
        auto* c = new connection;
        c->fd = fd;
        ++open_;
        epoll_event ev{};
        ev.events = c->events = EPOLLIN;
        ev.data.ptr = c;
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
}

void server::readable(connection& c) {
    const ssize_t n = ::read(c.fd, buf_.data(), buf_.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return close(c); // an error or the peer's FIN
    if (!http_) {
        send(c, std::string_view(buf_.data(), static_cast<std::size_t>(n)), nullptr, nullptr);
    } else {
        c.in.append(buf_.data(), static_cast<std::size_t>(n));
        serve_input(c);
    }
    if (c.out.empty() && c.close_after) return close(c);
    watch(c);
}

void server::writable(connection& c) {
    if (!flush(c)) return close(c);
    if (!c.out.empty()) return;
    if (c.close_after) return close(c);
    if (http_) serve_input(c); // pipelined requests that came while we were writing
    if (c.out.empty() && c.close_after) return close(c);
    watch(c);
}

// Answers the complete requests at the front of c.in, until one leaves output unwritten.
void server::serve_input(connection& c) {
    while (c.out.empty() && !c.close_after) {
        auto r = http::parse_request(c.in);
        if (r.status == http::parse_status::need_more) return;
        response out = r.status == http::parse_status::complete
                           ? responder_.answer(r.req)
                           : responder::malformed(r.error_status);
        c.close_after = !out.keep_alive;
        send(c, out.head, std::move(out.body), &out.head);
        c.in.erase(0, r.status == http::parse_status::complete ? r.consumed : c.in.size());
    }
}

// Writes head then body at once; what the socket does not take is queued (the head moved
// from *head_owner when there is one, copied otherwise).
void server::send(connection& c, std::string_view head, std::shared_ptr<const std::string> body,
                  std::string* head_owner) {
    std::array<iovec, 2> v{{{const_cast<char*>(head.data()), head.size()}, {nullptr, 0}}};
    if (body) v[1] = {const_cast<char*>(body->data()), body->size()};
    std::size_t done = 0;
    if (c.out.empty()) {
        const ssize_t n = ::writev(c.fd, v.data(), body ? 2 : 1);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            c.close_after = true; // the peer is gone: drop the rest and close
            return;
        }
        done = n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (done < head.size()) {
        auto rest = head_owner ? std::make_shared<const std::string>(std::move(*head_owner))
                               : std::make_shared<const std::string>(head);
        c.out.push_back({std::move(rest), done});
        done = 0;
    } else {
        done -= head.size();
    }
    if (body && done < body->size()) c.out.push_back({std::move(body), done});
}

bool server::flush(connection& c) {
    while (!c.out.empty()) {
        std::array<iovec, 16> v;
        std::size_t k = 0;
        for (auto it = c.out.begin(); it != c.out.end() && k < v.size(); ++it, ++k)
            v[k] = {const_cast<char*>(it->data->data() + it->off), it->data->size() - it->off};
        ssize_t n = ::writev(c.fd, v.data(), static_cast<int>(k));
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        for (auto left = static_cast<std::size_t>(n); left > 0;) {
            auto& p = c.out.front();
            const std::size_t take = std::min(left, p.data->size() - p.off);
            p.off += take;
            left -= take;
            if (p.off == p.data->size()) c.out.pop_front();
        }
    }
    return true;
}

// Reading while nothing waits to be written, else waiting to write.
void server::watch(connection& c) {
    const std::uint32_t want = c.out.empty() ? EPOLLIN : EPOLLOUT;
    if (want == c.events) return;
    epoll_event ev{};
    ev.events = c.events = want;
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void server::close(connection& c) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    --open_;
    delete &c;
}

} // namespace

int main(int argc, char** argv) {
    const auto cmd = parse_command_line(argc, argv);
    if (!cmd) return 2;
    std::signal(SIGPIPE, SIG_IGN);
    server s(cmd->http, cmd->root);
    return s.run(cmd->port);
}
