// The host stack's socket table: a row per socket coronet holds a descriptor of, read from
// the kernel as ss reads it. Endpoints from getsockname/getpeername; TCP state and figures
// from TCP_INFO (host_tcp_info.cpp); a connection's queues from SIOCINQ/SIOCOUTQ, a
// listener's from TCP_INFO (Linux puts the accept queue in tcpi_unacked and the backlog in
// tcpi_sacked) plus the descriptors its multishot accept took and accept() has not; UDP's
// from SO_MEMINFO (the kernel's rmem/wmem, what ss prints, and sk_drops). The timer is the
// kernel's, through sock_diag (inet_diag), as ss -o gets it: one exact lookup by 4-tuple.
#include "drivers/host/host_socket.hpp"
#include "drivers/host/host_stack.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace coronet::host {

namespace {

// inet_diag's idiag_timer, as Linux's get_tcp4_sock numbers it.
timer_kind kind_of(std::uint8_t t) noexcept {
    switch (t) {
    case 1:
        return timer_kind::on;
    case 2:
        return timer_kind::keepalive;
    case 3:
        return timer_kind::timewait;
    case 4:
        return timer_kind::persist;
    default:
        return timer_kind::off;
    }
}

// The kernel's timer of the TCP connection from `local` to `remote`, or off when sock_diag
// cannot say (no tcp_diag, a connection gone meanwhile): an exact lookup, not a dump.
socket_timer kernel_timer(const endpoint& local, const endpoint& remote) {
    const int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) return {};
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } closed_at_end{nl};
    const timeval wait{.tv_sec = 1, .tv_usec = 0}; // the kernel answers at once; never hang
    (void)::setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } ask{};
    ask.header.nlmsg_len = sizeof ask;
    ask.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.header.nlmsg_flags = NLM_F_REQUEST;
    ask.request.sdiag_family = AF_INET;
    ask.request.sdiag_protocol = IPPROTO_TCP;
    ask.request.idiag_states = ~0u;
    ask.request.id.idiag_sport = htons(local.port.value());
    ask.request.id.idiag_dport = htons(remote.port.value());
    ask.request.id.idiag_src[0] = htonl(local.address.to_uint());
    ask.request.id.idiag_dst[0] = htonl(remote.address.to_uint());
    ask.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    ask.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(nl, &ask, sizeof ask, 0, reinterpret_cast<const sockaddr*>(&kernel),
                 sizeof kernel) != static_cast<ssize_t>(sizeof ask))
        return {};
    alignas(nlmsghdr) char reply[8192];
    const ssize_t n = ::recv(nl, reply, sizeof reply, 0);
    if (n <= 0) return {};
    // The kernel's reply, one message, is checked as any input: its length within what
    // arrived (the NLMSG_* macros do the same with casts the warnings refuse).
    const auto got = static_cast<std::size_t>(n);
    nlmsghdr h;
    if (got < sizeof h) return {};
    std::memcpy(&h, reply, sizeof h);
    if (h.nlmsg_len > got || h.nlmsg_type != SOCK_DIAG_BY_FAMILY) return {}; // NLMSG_ERROR: none
    if (h.nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) return {};
    inet_diag_msg m;
    std::memcpy(&m, reply + NLMSG_HDRLEN, sizeof m);
    const timer_kind kind = kind_of(m.idiag_timer);
    if (kind == timer_kind::off) return {};
    return socket_timer{kind, std::chrono::milliseconds(m.idiag_expires), m.idiag_retrans};
}

template <class T>
std::size_t ioctl_value(int fd, unsigned long request) noexcept {
    T v{};
    return ::ioctl(fd, request, &v) == 0 && v > 0 ? static_cast<std::size_t>(v) : 0;
}

} // namespace

std::optional<socket_row> host_socket::row() const {
    if (closed_ || fd_ < 0) return std::nullopt;
    socket_row r;
    r.object = this;
    auto local = local_endpoint();
    if (!local) return std::nullopt;
    r.local = *local;
    auto peer = peer_endpoint();
    if (peer) r.remote = *peer;
    if (type_ == socket_type::datagram) {
        if (r.local.port.value() == 0) return std::nullopt; // not bound: not in any table
        r.protocol = socket_protocol::udp;
        r.state = peer ? tcp_state::established : tcp_state::closed;
        std::uint32_t mem[SK_MEMINFO_VARS]{};
        socklen_t len = sizeof mem;
        if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0) {
            r.recv_q = mem[SK_MEMINFO_RMEM_ALLOC];
            r.send_q = mem[SK_MEMINFO_WMEM_ALLOC];
            r.drops = mem[SK_MEMINFO_DROPS];
        }
        return r;
    }
    r.protocol = socket_protocol::tcp;
    if (auto info = connection_info()) r.info = *info;
    r.state = r.info.state;
    if (r.state == tcp_state::closed && r.local.port.value() == 0) return std::nullopt;
    if (r.state == tcp_state::listen) {
        r.remote = {};
        r.recv_q = r.info.unacked + accepted_.size();
        r.send_q = r.info.sacked;
        return r;
    }
    r.recv_q = ioctl_value<int>(fd_, SIOCINQ);
    r.send_q = ioctl_value<int>(fd_, SIOCOUTQ);
    if (peer) r.timer = kernel_timer(r.local, r.remote);
    return r;
}

result<std::vector<socket_row>> host_stack::socket_rows() const {
    // The native stack's order: listeners by port, connections, then UDP by port.
    std::vector<socket_row> listeners, connections, datagrams;
    for (const socket_link& l : sockets_) {
        auto r = l.owner->row();
        if (!r) continue;
        auto& into = r->protocol == socket_protocol::udp ? datagrams
                     : r->state == tcp_state::listen     ? listeners
                                                         : connections;
        into.push_back(std::move(*r));
    }
    const auto by_port = [](const socket_row& a, const socket_row& b) {
        return a.local.port.value() < b.local.port.value();
    };
    std::stable_sort(listeners.begin(), listeners.end(), by_port);
    std::stable_sort(datagrams.begin(), datagrams.end(), by_port);
    for (auto* part : {&connections, &datagrams})
        for (auto& r : *part)
            listeners.push_back(std::move(r));
    return listeners;
}

} // namespace coronet::host
