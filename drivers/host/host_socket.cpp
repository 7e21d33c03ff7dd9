#include "drivers/host/host_socket.hpp"

#include "drivers/host/cpu_steering.hpp"
#include "drivers/host/host_stack.hpp"
#include "drivers/host/receive_buffers.hpp"
#include "framework/timeout.hpp"
#include "framework/uring/ops.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace coronet::host {

namespace {

result<> check(int ret) { return ret < 0 ? result<>{error{errno}} : result<>{}; }

// A write cut short by an error (a timeout, a close, a reset) returns what it had taken,
// and the error only when that was nothing.
result<std::size_t> partial(std::size_t taken, int err) {
    return taken > 0 ? result<std::size_t>{taken} : result<std::size_t>{error{err}};
}

// `wait()` (a wait of coronet's own, not the kernel's), bounded by `until` on the
// scheduler's timer: EAGAIN once it has passed, as a socket timeout.
template <class Wait>
task<result<>> wait_until(std::optional<time_point> until, Wait wait) {
    if (!until) co_return co_await wait();
    co_return co_await with_deadline(
        *until, [&wait]() -> task<result<>> { co_return co_await wait(); }, EAGAIN);
}

// Where each socket option lives in Linux.
struct sockopt_place {
    int level;
    int name;
};
result<sockopt_place> place_of(socket_option opt) {
    switch (opt) {
    case socket_option::no_delay:
        return sockopt_place{IPPROTO_TCP, TCP_NODELAY};
    case socket_option::keep_alive:
        return sockopt_place{SOL_SOCKET, SO_KEEPALIVE};
    case socket_option::keep_idle:
        return sockopt_place{IPPROTO_TCP, TCP_KEEPIDLE};
    case socket_option::keep_interval:
        return sockopt_place{IPPROTO_TCP, TCP_KEEPINTVL};
    case socket_option::keep_count:
        return sockopt_place{IPPROTO_TCP, TCP_KEEPCNT};
    case socket_option::send_buffer:
        return sockopt_place{SOL_SOCKET, SO_SNDBUF};
    case socket_option::receive_buffer:
        return sockopt_place{SOL_SOCKET, SO_RCVBUF};
    case socket_option::user_timeout:
        return sockopt_place{IPPROTO_TCP, TCP_USER_TIMEOUT};
    case socket_option::reuse_address:
        return sockopt_place{SOL_SOCKET, SO_REUSEADDR};
    case socket_option::reuse_port:
        return sockopt_place{SOL_SOCKET, SO_REUSEPORT};
    default:
        return error{ENOPROTOOPT};
    }
}

} // namespace

host_socket::host_socket(host_stack& stack, int fd, socket_type type) noexcept
    : stack_(stack), reactor_(stack.reactor()), lingering_(stack.lingering_), fd_(fd),
      slot_(stack.take_slot(fd)), type_(type), cancel_all_(this), accept_(this), accept_pause_(this) {
    stack.sockets_.push_back(link_);
}

host_socket::~host_socket() {
    for (int fd : accepted_) // accepted by the kernel, never taken: their peers see a close
        ::close(fd);
    if (slot_ >= 0) stack_.release_slot(slot_);
    if (fd_ >= 0) ::close(fd_);
}

result<> host_socket::bind(const endpoint& local) {
    auto sa = to_sockaddr(local);
    return check(::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa));
}

result<> host_socket::listen(int backlog) {
    if (auto r = check(::listen(fd_, backlog)); !r) return r;
    const std::uint32_t shards = stack_.opts_.steer_by_cpu;
    if (shards > 0 && type_ == socket_type::stream) return steer_by_cpu(fd_, shards);
    return {};
}

task<result<>> host_socket::connect(const endpoint& remote) {
    auto sa = to_sockaddr(remote);
    if (type_ == socket_type::datagram) // no handshake: only sets the default peer
        co_return check(::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa));
    busy b(*this);
    co_return co_await on_file(uring::connect_op(reactor_, fd_, reinterpret_cast<const sockaddr*>(&sa),
                                                 sizeof sa));
}

task<result<std::size_t>> host_socket::read(std::span<std::byte> buffer) {
    if (non_blocking_) {
        auto n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) co_return error{errno == EWOULDBLOCK ? EAGAIN : errno};
        co_return static_cast<std::size_t>(n);
    }
    busy b(*this);
    auto n = co_await on_file(uring::recv_op(reactor_, fd_, buffer, 0), deadline(timeouts.receive));
    if (!n) co_return error{timeout_error(n.error())};
    co_return n;
}

task<result<>> host_socket::wait_for_send_turn(std::optional<time_point> until) {
    return wait_until(until, [this] { return sends_.take(); });
}

task<result<std::size_t>> host_socket::write(std::span<const std::byte> bytes) {
    if (non_blocking_) {
        // Behind a waiting or sending writer it would overtake: it would block instead.
        if (!sends_.try_take()) co_return error{EAGAIN};
        send_turn::holder turn(sends_);
        auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) co_return error{errno == EWOULDBLOCK ? EAGAIN : errno};
        co_return static_cast<std::size_t>(n);
    }
    const auto until = deadline(timeouts.send);
    if (!sends_.try_take()) {
        if (auto t = co_await wait_for_send_turn(until); !t) co_return error{t.error()};
    }
    send_turn::holder turn(sends_);
    busy b(*this);
    std::size_t total = 0;
    do { // at least one send: a zero-length one still reports EPIPE after shutdown
        // The close's cancel has gone by: a send submitted now would wait on, unseen.
        if (closed_) co_return partial(total, ECANCELED);
        const auto rest = bytes.subspan(total);
        result<std::size_t> n = std::size_t{0};
        stack_.count_send();
        if (type_ == socket_type::stream && stack_.zero_copy(rest.size())) {
            uring::send_zc_op op(reactor_, fd_, rest, MSG_NOSIGNAL);
            n = co_await on_file(op, until);
            stack_.count_zero_copy(op.copied());
        } else {
            n = co_await on_file(uring::send_op(reactor_, fd_, rest, MSG_NOSIGNAL), until);
        }
        if (!n) co_return partial(total, timeout_error(n.error()));
        total += *n;
        if (*n == 0 || type_ == socket_type::datagram) break; // a datagram goes whole or not
    } while (total < bytes.size());
    co_return total;
}

task<result<packet>> host_socket::recv_zc(std::size_t max) {
    if (type_ != socket_type::stream) co_return error{EOPNOTSUPP};
    if (max == 0) co_return error{EINVAL}; // an empty packet would read as end of stream
    auto lending = stack_.lending_buffers();
    if (!lending) co_return error{lending.error()};
    receive_buffers& buffers = **lending;
    const auto until = deadline(timeouts.receive);
    for (;;) {
        result<uring::selected_buffer> got = error{EBADF};
        {
            busy b(*this);
            got = co_await on_file(uring::recv_selected_op(reactor_, fd_, buffers.ring(), max,
                                                           non_blocking_ ? MSG_DONTWAIT : 0),
                                   until);
        }
        if (got) {
            if (got->size == 0) co_return packet{}; // end of stream: no buffer taken
            co_return buffers.lend(*got);
        }
        if (got.error() == EWOULDBLOCK) co_return error{EAGAIN};
        if (got.error() != ENOBUFS) co_return error{timeout_error(got.error())};
        // Callers hold every buffer; the kernel kept the data.
        buffers.count_exhausted();
        if (non_blocking_) co_return error{ENOBUFS};
        if (closed_) co_return error{ECANCELED};
        waits_for_buffer_ = true;
        auto w = co_await wait_until(until, [&buffers] { return buffers.returned().wait(); });
        waits_for_buffer_ = false;
        if (!w) co_return error{w.error()};
        if (closed_) co_return error{ECANCELED}; // as a read the close cancelled
    }
}

namespace {

// One sendmsg of up to max_gather slices of a packet: the kernel copies them all in one
// call (a response head and its body go out as one send, not two).
constexpr std::size_t max_gather = 64;

struct gather {
    std::array<iovec, max_gather> iov{};
    msghdr msg{};
    std::size_t bytes = 0; // in the iovecs
    explicit gather(const packet& data) noexcept {
        std::size_t n = 0;
        for (auto s : data.slices()) {
            if (s.empty()) continue;
            iov[n].iov_base = const_cast<std::byte*>(s.data()); // sendmsg only reads it
            iov[n].iov_len = s.size();
            bytes += s.size();
            if (++n == iov.size()) break;
        }
        msg.msg_iov = iov.data();
        msg.msg_iovlen = n;
    }
};

// sendmsg of a gather that lives in the awaiting coroutine's frame.
class sendmsg_gather_op : public uring::transfer_op {
public:
    sendmsg_gather_op(uring::uring_reactor& r, int fd, const msghdr& msg) noexcept : transfer_op(r) {
        io_uring_prep_sendmsg(sqe(), fd, &msg, MSG_NOSIGNAL);
    }
};

} // namespace

task<result<std::size_t>> host_socket::send_zc(packet& data) {
    if (type_ != socket_type::stream) co_return error{EOPNOTSUPP};
    if (non_blocking_) {
        if (!sends_.try_take()) co_return error{EAGAIN};
        send_turn::holder turn(sends_);
        std::size_t total = 0;
        while (!data.empty()) {
            gather g(data);
            const auto sent = ::sendmsg(fd_, &g.msg, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent < 0) co_return partial(total, errno == EWOULDBLOCK ? EAGAIN : errno);
            if (sent == 0) break;
            (void)data.pull_header(static_cast<std::size_t>(sent)); // no more than it holds
            total += static_cast<std::size_t>(sent);
        }
        co_return total;
    }
    const auto until = deadline(timeouts.send);
    if (!sends_.try_take()) {
        if (auto t = co_await wait_for_send_turn(until); !t) co_return error{t.error()};
    }
    send_turn::holder turn(sends_);
    busy b(*this);
    std::size_t total = 0;
    while (!data.empty()) {
        if (closed_) co_return partial(total, ECANCELED); // as in write
        gather g(data);
        result<std::size_t> n = std::size_t{0};
        stack_.count_send();
        if (stack_.zero_copy(g.bytes)) {
            // The packet's buffers stay in `data` until the op returns, after the notification.
            uring::sendmsg_zc_op op(reactor_, fd_, g.msg, MSG_NOSIGNAL);
            n = co_await on_file(op, until);
            stack_.count_zero_copy(op.copied());
        } else {
            n = co_await on_file(sendmsg_gather_op(reactor_, fd_, g.msg), until);
        }
        if (!n) co_return partial(total, timeout_error(n.error()));
        if (*n == 0) break;
        (void)data.pull_header(*n); // n <= the bytes in the packet: cannot fail
        total += *n;
    }
    co_return total;
}

task<result<std::size_t>> host_socket::send_to(std::span<const std::byte> bytes,
                                               const endpoint& to) {
    auto sa = to_sockaddr(to);
    int flags = MSG_NOSIGNAL | (non_blocking_ ? MSG_DONTWAIT : 0);
    busy b(*this);
    auto r = co_await on_file(uring::sendmsg_op(reactor_, fd_, bytes,
                                                reinterpret_cast<const sockaddr*>(&sa), sizeof sa, flags),
                              deadline(timeouts.send));
    if (!r) co_return error{r.error() == EWOULDBLOCK ? EAGAIN : timeout_error(r.error())};
    co_return r;
}

task<result<datagram_info>> host_socket::recv_from(std::span<std::byte> buffer) {
    busy b(*this);
    auto r = co_await on_file(uring::recvmsg_op(reactor_, fd_, buffer, non_blocking_ ? MSG_DONTWAIT : 0),
                              deadline(timeouts.receive));
    if (!r) co_return error{r.error() == EWOULDBLOCK ? EAGAIN : timeout_error(r.error())};
    datagram_info info;
    info.size = r->size;
    info.truncated = r->truncated;
    info.from = to_endpoint(reinterpret_cast<const sockaddr_in&>(r->peer));
    co_return info;
}

result<> host_socket::shutdown(shutdown_how how) {
    int h = how == shutdown_how::read ? SHUT_RD : how == shutdown_how::write ? SHUT_WR : SHUT_RDWR;
    return check(::shutdown(fd_, h));
}

result<endpoint> host_socket::local_endpoint() const {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return error{errno};
    return to_endpoint(sa);
}

result<endpoint> host_socket::peer_endpoint() const {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return error{errno};
    return to_endpoint(sa);
}

result<> host_socket::set_option(socket_option opt, std::int64_t value) {
    switch (opt) {
    case socket_option::non_blocking:
        non_blocking_ = value != 0;
        return {};
    case socket_option::linger: {
        linger l{value >= 0 ? 1 : 0, static_cast<int>(value >= 0 ? value : 0)};
        return check(::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l));
    }
    case socket_option::congestion_control: {
        std::string name = value == 0 ? "reno" : value == 1 ? "cubic" : "";
        if (name.empty()) return error{EINVAL};
        return check(::setsockopt(fd_, IPPROTO_TCP, TCP_CONGESTION, name.data(),
                                  static_cast<socklen_t>(name.size())));
    }
    default: {
        auto p = place_of(opt);
        if (!p) return error{p.error()};
        int v = static_cast<int>(value);
        return check(::setsockopt(fd_, p->level, p->name, &v, sizeof v));
    }
    }
}

result<std::int64_t> host_socket::get_option(socket_option opt) const {
    switch (opt) {
    case socket_option::non_blocking:
        return std::int64_t{non_blocking_};
    case socket_option::linger: {
        linger l{};
        socklen_t len = sizeof l;
        if (::getsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, &len) < 0) return error{errno};
        return std::int64_t{l.l_onoff ? l.l_linger : -1};
    }
    case socket_option::congestion_control: {
        char name[16] = {};
        socklen_t len = sizeof name;
        if (::getsockopt(fd_, IPPROTO_TCP, TCP_CONGESTION, name, &len) < 0) return error{errno};
        return std::int64_t{std::string(name) == "cubic" ? 1 : 0};
    }
    default: {
        auto p = place_of(opt);
        if (!p) return error{p.error()};
        int v = 0;
        socklen_t len = sizeof v;
        if (::getsockopt(fd_, p->level, p->name, &v, &len) < 0) return error{errno};
        return std::int64_t{v};
    }
    }
}

void host_socket::on_last_handle_closed() noexcept {
    // Wake whatever still waits on the socket by cancelling its io_uring operations (they
    // hold the file, so close() alone would not end them). No shutdown(): that would send
    // a FIN where SO_LINGER 0 asks for a reset. The descriptor is closed by the
    // destructor, once the last pending call has let go of the socket.
    end_accept_on_close();
    sends_.close();
    if (waits_for_buffer_) { // not in the kernel: woken here, it sees closed_
        if (auto* buffers = stack_.lending_buffers_if_made()) buffers->returned().wake_all();
    }
    if (in_flight_ == 0) return;
    // By descriptor even for operations on the slot: both name the same file, which is
    // what the kernel matches.
    io_uring_prep_cancel_fd(cancel_all_.sqe(), fd_, IORING_ASYNC_CANCEL_ALL);
    cancel_all_.set_background(true);
    cancel_keepalive_ = ref<host_socket>(this);
    ++lingering_;
    reactor_.submit(cancel_all_);
}

void host_socket::cancel_request::on_done(uring::io_completion* c, int, std::uint32_t) {
    // Dropping the reference may destroy the socket, and this request with it: take it
    // out first.
    host_socket& s = *static_cast<cancel_request&>(*c).owner;
    --s.lingering_;
    auto keep = std::move(s.cancel_keepalive_);
}

} // namespace coronet::host
