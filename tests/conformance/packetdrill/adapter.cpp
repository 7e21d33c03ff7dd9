#include "tests/conformance/packetdrill/adapter.hpp"

#include "framework/sleep.hpp"
#include "protocols/tcp/socket.hpp"

#include <climits>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

namespace coronet::packetdrill {

namespace {

// Coroutines that own their arguments: a lazy task must not hold a reference to a
// caller's temporary.
task<result<>> connect_to(ref<process> p, handle h, endpoint to) {
    co_return co_await p->connect(h, to);
}
task<result<std::size_t>> write_bytes(ref<process> p, handle h, std::vector<std::byte> data,
                                      bool once, bool more) {
    std::size_t total = 0;
    while (total < data.size() || data.empty()) {
        // MSG_MORE is the next write's only: said again before each.
        if (more) (void)p->set_socket_option(h, socket_option::more, 1).get();
        auto n = co_await p->write(h, std::span<const std::byte>(data).subspan(total));
        if (!n) co_return total > 0 ? result<std::size_t>(total) : error{n.error()};
        total += *n;
        if (once || data.empty()) break; // a non-blocking call takes what fits
    }
    co_return total;
}
task<result<std::size_t>> send_datagram(ref<process> p, handle h, std::vector<std::byte> data,
                                        endpoint to) {
    co_return co_await p->send_to(h, data, to);
}

result<endpoint> to_endpoint(const sockaddr* addr, socklen_t len) {
    if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return error{EINVAL};
    if (addr->sa_family != AF_INET) return error{EAFNOSUPPORT};
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    return endpoint{ipv4_address(ntohl(in.sin_addr.s_addr)), port(ntohs(in.sin_port))};
}

void from_endpoint(const endpoint& e, sockaddr* addr, socklen_t* len) {
    if (addr == nullptr || len == nullptr) return;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(e.port.value());
    in.sin_addr.s_addr = htonl(e.address.to_uint());
    std::memcpy(addr, &in, std::min<std::size_t>(*len, sizeof in));
    *len = sizeof in;
}

tcp::socket* tcb_of(simulation::world& w, handle h) {
    auto s = w.app->handles().lookup_as<socket_object>(h, access_mask{});
    return s ? dynamic_cast<tcp::socket*>(*s) : nullptr;
}

constexpr int max_iov = 1024;
constexpr std::size_t max_io_bytes = std::size_t{64} << 20;

result<std::size_t> iov_total(const iovec* iov, int iovcnt) {
    if (iovcnt < 0 || iovcnt > max_iov || (iovcnt > 0 && iov == nullptr)) return error{EINVAL};
    std::size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) {
        if (iov[i].iov_len > 0 && iov[i].iov_base == nullptr) return error{EFAULT};
        total += iov[i].iov_len;
        if (total > max_io_bytes) return error{EINVAL};
    }
    return total;
}

} // namespace

result<adapter::descriptor> adapter::find(int fd) {
    std::lock_guard l(fds_m_);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return error{EBADF};
    return it->second;
}

bool adapter::owns(int fd) {
    std::lock_guard l(fds_m_);
    return fds_.contains(fd);
}

result<int> adapter::insert(descriptor d) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return error{errno};
    std::lock_guard l(fds_m_);
    fds_.emplace(fd, std::move(d));
    return fd;
}

result<int> adapter::set_inq(int fd, bool on) {
    std::lock_guard l(fds_m_);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return error{EBADF};
    it->second.inq = on;
    return 0;
}

adapter::~adapter() {
    for (const auto& [fd, _] : fds_)
        ::close(fd);
}

template <class T, class F>
result<T> adapter::blocking(F start) {
    struct op {
        std::atomic<bool> done{false};
        std::optional<result<T>> value;
    };
    auto o = std::make_shared<op>();
    sim_.run([&](simulation::world& w) {
        w.app->spawn([o, t = start(w)]() mutable -> task<void> {
            o->value.emplace(co_await std::move(t));
            o->done = true;
        });
    });
    sim_.wait_until([o](simulation::world&) { return o->done.load(); });
    return std::move(*o->value);
}

result<int> adapter::socket(int domain, int type, int protocol) {
    if (domain != AF_INET) return error{EAFNOSUPPORT};
    const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base != SOCK_STREAM && base != SOCK_DGRAM) return error{EPROTONOSUPPORT};
    if (protocol != 0 && protocol != (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return error{EPROTONOSUPPORT};
    const bool stream = base == SOCK_STREAM;
    auto h = sim_.run([&](simulation::world& w) -> result<handle> {
        auto r = w.app->socket(stream ? socket_type::stream : socket_type::datagram).get();
        if (r && (type & SOCK_NONBLOCK))
            (void)w.app->set_socket_option(*r, socket_option::non_blocking, 1).get();
        return r;
    });
    if (!h) return error{h.error()};
    return insert(descriptor{.h = *h, .stream = stream, .is_epoll = false, .members = {}});
}

result<int> adapter::bind(int fd, const sockaddr* addr, socklen_t len) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    auto e = to_endpoint(addr, len);
    if (!e) return error{e.error()};
    auto r = sim_.run([&](simulation::world& w) { return w.app->bind(d->h, *e).get(); });
    if (!r) return error{r.error()};
    return 0;
}

result<int> adapter::listen(int fd, int backlog) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    auto r = sim_.run([&](simulation::world& w) { return w.app->listen(d->h, backlog).get(); });
    if (!r) return error{r.error()};
    return 0;
}

result<int> adapter::accept(int fd, sockaddr* addr, socklen_t* len) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    const handle listener = d->h;
    auto h = blocking<handle>([&](simulation::world& w) { return w.app->accept(listener); });
    if (!h) return error{h.error()};
    auto peer = sim_.run([&](simulation::world& w) { return w.app->get_peer_name(*h).get(); });
    if (peer) from_endpoint(*peer, addr, len);
    auto fd_of = insert(descriptor{.h = *h, .stream = true, .is_epoll = false, .members = {}});
    if (!fd_of) (void)sim_.run([&](simulation::world& w) { return w.app->close(*h).get(); });
    return fd_of;
}

result<int> adapter::connect(int fd, const sockaddr* addr, socklen_t len) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    auto e = to_endpoint(addr, len);
    if (!e) return error{e.error()};
    const handle h = d->h;
    auto r = blocking<void>([&](simulation::world& w) { return connect_to(w.app, h, *e); });
    if (!r) return error{r.error()};
    return 0;
}

result<long> adapter::recv(int fd, const iovec* iov, int iovcnt, int flags, sockaddr* from,
                           socklen_t* from_len, int* inq) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if ((flags & ~MSG_DONTWAIT) != 0)
        return error{EOPNOTSUPP}; // MSG_PEEK, MSG_WAITALL...: not served
    auto total = iov_total(iov, iovcnt);
    if (!total) return error{total.error()};
    const handle h = d->h;
    if (flags & MSG_DONTWAIT) {
        const bool would_wait = sim_.run([&](simulation::world& w) {
            return (readiness(w, *d) & (POLLIN | POLLERR | POLLHUP)) == 0;
        });
        if (would_wait) return error{EAGAIN};
    }
    std::vector<std::byte> buf(*total);
    std::size_t got = 0;
    if (d->stream) {
        auto n = blocking<std::size_t>([&](simulation::world& w) { return w.app->read(h, buf); });
        if (!n) return error{n.error()};
        got = *n;
        if (inq != nullptr) {
            *inq = !d->inq ? -1 : sim_.run([&](simulation::world& w) {
                auto* t = tcb_of(w, h);
                if (t == nullptr) return 0;
                const auto left = static_cast<int>(std::min<std::size_t>(t->readable_bytes(), INT_MAX));
                return left == 0 && t->peer_closed() ? 1 : left;
            });
        }
        if (from != nullptr) {
            auto peer =
                sim_.run([&](simulation::world& w) { return w.app->get_peer_name(h).get(); });
            if (peer) from_endpoint(*peer, from, from_len);
        }
    } else {
        auto n =
            blocking<datagram_info>([&](simulation::world& w) { return w.app->recv_from(h, buf); });
        if (!n) return error{n.error()};
        got = n->size;
        from_endpoint(n->from, from, from_len);
    }
    std::size_t off = 0;
    for (int i = 0; i < iovcnt && off < got; ++i) {
        const std::size_t k = std::min(iov[i].iov_len, got - off);
        std::memcpy(iov[i].iov_base, buf.data() + off, k);
        off += k;
    }
    return static_cast<long>(got);
}

result<long> adapter::send(int fd, const iovec* iov, int iovcnt, int flags, const sockaddr* to,
                           socklen_t to_len) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)) != 0)
        return error{EOPNOTSUPP}; // MSG_EOR, MSG_ZEROCOPY...
    auto total = iov_total(iov, iovcnt);
    if (!total) return error{total.error()};
    std::vector<std::byte> data;
    data.reserve(*total);
    for (int i = 0; i < iovcnt; ++i) {
        const auto* p = static_cast<const std::byte*>(iov[i].iov_base);
        data.insert(data.end(), p, p + iov[i].iov_len);
    }
    const handle h = d->h;
    if (!d->stream) {
        auto e = to_endpoint(to, to_len);
        if (!e) return error{e.error()};
        auto n = blocking<std::size_t>(
            [&](simulation::world& w) { return send_datagram(w.app, h, data, *e); });
        if (!n) return error{n.error()};
        return static_cast<long>(*n);
    }
    bool once = false;
    if (flags & MSG_DONTWAIT) {
        const short r = sim_.run([&](simulation::world& w) { return readiness(w, *d); });
        if ((r & (POLLOUT | POLLERR | POLLHUP)) == 0) return error{EAGAIN};
        once = true;
    }
    once = once || sim_.run([&](simulation::world& w) {
        auto nb = w.app->get_socket_option(h, socket_option::non_blocking).get();
        return nb && *nb != 0;
    });
    auto n = blocking<std::size_t>(
        [&](simulation::world& w) { return write_bytes(w.app, h, data, once, flags & MSG_MORE); });
    if (!n) return error{n.error()};
    return static_cast<long>(*n);
}

result<int> adapter::fcntl(int fd, int cmd, long arg) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if (d->is_epoll) return error{EINVAL};
    const handle h = d->h;
    switch (cmd) {
    case F_GETFL: {
        auto nb = sim_.run([&](simulation::world& w) {
            return w.app->get_socket_option(h, socket_option::non_blocking).get();
        });
        if (!nb) return error{nb.error()};
        return O_RDWR | (*nb ? O_NONBLOCK : 0);
    }
    case F_SETFL: {
        auto r = sim_.run([&](simulation::world& w) {
            return w.app
                ->set_socket_option(h, socket_option::non_blocking, (arg & O_NONBLOCK) ? 1 : 0)
                .get();
        });
        if (!r) return error{r.error()};
        return 0;
    }
    case F_GETFD:
    case F_SETFD:
        return 0; // no exec here: FD_CLOEXEC means nothing
    default:
        return error{EINVAL};
    }
}

result<int> adapter::ioctl(int fd, unsigned long request, void* arg) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if (arg == nullptr) return error{EFAULT};
    const handle h = d->h;
    if (request == FIONBIO) {
        int on = 0;
        std::memcpy(&on, arg, sizeof on);
        auto r = sim_.run([&](simulation::world& w) {
            return w.app->set_socket_option(h, socket_option::non_blocking, on != 0).get();
        });
        return r ? result<int>(0) : error{r.error()};
    }
    if (request != FIONREAD && request != TIOCOUTQ) return error{ENOTTY};
    auto v = sim_.run([&](simulation::world& w) -> result<int> {
        auto* t = tcb_of(w, h);
        if (t == nullptr) return error{EOPNOTSUPP};
        if (t->state() == tcp::state::listen) return error{EINVAL}; // as Linux's tcp_ioctl
        return static_cast<int>(request == FIONREAD ? t->readable_bytes() : t->send_queued());
    });
    if (!v) return error{v.error()};
    std::memcpy(arg, &*v, sizeof(int));
    return 0;
}

result<int> adapter::close(int fd) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if (!d->is_epoll) {
        const handle h = d->h;
        auto r = sim_.run([&](simulation::world& w) { return w.app->close(h).get(); });
        if (!r) return error{r.error()};
    }
    std::lock_guard l(fds_m_);
    fds_.erase(fd);
    for (auto& [_, e] : fds_)
        e.members.erase(fd);
    return 0;
}

result<int> adapter::shutdown(int fd, int how) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if (how < SHUT_RD || how > SHUT_RDWR) return error{EINVAL};
    const auto which = how == SHUT_RD   ? shutdown_how::read
                       : how == SHUT_WR ? shutdown_how::write
                                        : shutdown_how::both;
    const handle h = d->h;
    auto r = sim_.run([&](simulation::world& w) { return w.app->shutdown(h, which).get(); });
    if (!r) return error{r.error()};
    return 0;
}

std::uint32_t adapter::arrivals(simulation::world& w, const descriptor& d) const {
    auto* t = tcb_of(w, d.h);
    return t != nullptr ? t->rcv_nxt().raw() : 0;
}

short adapter::readiness(simulation::world& w, const descriptor& d) const {
    auto* t = tcb_of(w, d.h);
    if (t == nullptr) return d.stream ? POLLNVAL : POLLOUT | POLLWRNORM; // UDP: always writable
    // As Linux's tcp_poll (net/ipv4/tcp.c).
    const auto st = t->state();
    if (st == tcp::state::listen) return t->accept_queue_size() > 0 ? POLLIN | POLLRDNORM : 0;
    short mask = 0;
    const bool failed = t->pending_error() != 0;
    const bool read_shut = t->peer_closed() || (st == tcp::state::closed && failed);
    const bool write_shut = t->write_closed() || (st == tcp::state::closed && failed);
    if ((read_shut && write_shut) || st == tcp::state::closed) mask |= POLLHUP;
    if (read_shut) mask |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (st != tcp::state::syn_sent && st != tcp::state::syn_received) {
        if (t->readable_bytes() > 0) mask |= POLLIN | POLLRDNORM;
        // sk_stream_is_writeable: the free space is at least half of what is queued.
        // tcp_stream_memory_free: fewer unsent bytes than TCP_NOTSENT_LOWAT.
        if (write_shut || (t->send_space() > 0 && t->send_space() >= t->send_queued() / 2 &&
                           t->below_low_water()))
            mask |= POLLOUT | POLLWRNORM;
    }
    if (failed) mask |= POLLERR;
    return mask;
}

result<int> adapter::poll(pollfd* fds, nfds_t n, int timeout_ms) {
    if (n > 4096 || (n > 0 && fds == nullptr)) return error{EINVAL};
    std::vector<std::optional<descriptor>> targets(n);
    for (nfds_t i = 0; i < n; ++i)
        if (auto d = find(fds[i].fd); d && !d->is_epoll) targets[i] = *d;
    auto scan = [&](simulation::world& w) {
        int ready = 0;
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].fd < 0) {
                fds[i].revents = 0;
                continue;
            }
            const short r = targets[i] ? readiness(w, *targets[i]) : POLLNVAL;
            fds[i].revents = static_cast<short>(r & (fds[i].events | POLLERR | POLLHUP | POLLNVAL));
            if (fds[i].revents != 0) ++ready;
        }
        return ready;
    };
    return wait_ready(timeout_ms, scan);
}

result<int> adapter::wait_ready(int timeout_ms,
                                const std::function<int(simulation::world&)>& scan) {
    int ready = sim_.run(scan);
    if (ready > 0 || timeout_ms == 0) return ready;
    // A timer at the deadline, so that time running to the next timer stops there.
    auto expired = std::make_shared<std::atomic<bool>>(false);
    sim_.run([&](simulation::world& w) {
        if (timeout_ms < 0) return;
        const auto deadline = w.clock.now() + std::chrono::milliseconds(timeout_ms);
        w.app->spawn([expired, deadline]() -> task<void> {
            (void)co_await sleep_until(deadline);
            *expired = true;
        });
    });
    sim_.wait_until([&](simulation::world& w) {
        ready = scan(w);
        return ready > 0 || expired->load();
    });
    return ready;
}

} // namespace coronet::packetdrill
