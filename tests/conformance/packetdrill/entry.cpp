// libcoronet-packetdrill.so's exported symbols and the C trampolines of its table: each
// call goes to the adapter, and an error comes back as -1 with its errno, as a system call's.
//
// packetdrill's `%{ }%` blocks read TCP_INFO (and TCP_CC_INFO, SO_MEMINFO) with the C
// library's getsockopt on the script's descriptor, not through the table. The object
// therefore also exports getsockopt: when it is preloaded (LD_PRELOAD) that definition comes
// first, serves the adapter's descriptors and passes every other one on to the C library's.
// Loaded only with dlopen, as packetdrill loads it, it interposes on nothing.
#include "tests/conformance/packetdrill/adapter.hpp"
#include "tests/conformance/packetdrill/interface.hpp"

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/tcp.h>

namespace coronet::packetdrill {
namespace {

adapter& self(void* p) { return *static_cast<adapter*>(p); }

// The adapter packetdrill_interface_init made last, for the exported getsockopt.
std::atomic<adapter*> current{nullptr};

template <class T>
T unwrap(result<T> r) {
    if (r) return *r;
    errno = r.error();
    return -1;
}

template <class T, class F>
T guarded(F f) {
    try {
        return unwrap(f());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "coronet-packetdrill: %s\n", e.what());
        errno = EIO;
        return -1;
    }
}

iovec one(void* buf, size_t len) { return {buf, len}; }

void pd_destroy(void* p) {
    adapter* a = &self(p);
    current.compare_exchange_strong(a, nullptr);
    delete &self(p);
}
int pd_socket(void* p, int domain, int type, int protocol) {
    return guarded<int>([&] { return self(p).socket(domain, type, protocol); });
}
int pd_bind(void* p, int fd, const sockaddr* a, socklen_t n) {
    return guarded<int>([&] { return self(p).bind(fd, a, n); });
}
int pd_listen(void* p, int fd, int backlog) {
    return guarded<int>([&] { return self(p).listen(fd, backlog); });
}
int pd_accept(void* p, int fd, sockaddr* a, socklen_t* n) {
    return guarded<int>([&] { return self(p).accept(fd, a, n); });
}
int pd_connect(void* p, int fd, const sockaddr* a, socklen_t n) {
    return guarded<int>([&] { return self(p).connect(fd, a, n); });
}
ssize_t pd_read(void* p, int fd, void* buf, size_t n) {
    const iovec v = one(buf, n);
    return guarded<long>([&] { return self(p).recv(fd, &v, 1, 0, nullptr, nullptr); });
}
ssize_t pd_readv(void* p, int fd, const iovec* iov, int cnt) {
    return guarded<long>([&] { return self(p).recv(fd, iov, cnt, 0, nullptr, nullptr); });
}
ssize_t pd_recv(void* p, int fd, void* buf, size_t n, int flags) {
    const iovec v = one(buf, n);
    return guarded<long>([&] { return self(p).recv(fd, &v, 1, flags, nullptr, nullptr); });
}
ssize_t pd_recvfrom(void* p, int fd, void* buf, size_t n, int flags, sockaddr* from,
                    socklen_t* len) {
    const iovec v = one(buf, n);
    return guarded<long>([&] { return self(p).recv(fd, &v, 1, flags, from, len); });
}
ssize_t pd_recvmsg(void* p, int fd, msghdr* m, int flags) {
    if (m == nullptr) {
        errno = EFAULT;
        return -1;
    }
    const std::size_t control_room = m->msg_control != nullptr ? m->msg_controllen : 0;
    m->msg_controllen = 0; // the only control message produced is TCP_CM_INQ
    m->msg_flags = 0;
    socklen_t len = m->msg_namelen;
    int inq = -1;
    const auto r = guarded<long>([&] {
        return self(p).recv(fd, m->msg_iov, static_cast<int>(m->msg_iovlen), flags,
                            static_cast<sockaddr*>(m->msg_name), m->msg_name ? &len : nullptr,
                            &inq);
    });
    if (r >= 0 && m->msg_name) m->msg_namelen = len;
    if (r >= 0 && inq >= 0) {
        if (control_room < CMSG_SPACE(sizeof inq)) {
            m->msg_flags |= MSG_CTRUNC; // as Linux's put_cmsg
        } else {
            m->msg_controllen = control_room;
            cmsghdr* c = CMSG_FIRSTHDR(m);
            c->cmsg_level = SOL_TCP;
            c->cmsg_type = TCP_CM_INQ;
            c->cmsg_len = CMSG_LEN(sizeof inq);
            std::memcpy(CMSG_DATA(c), &inq, sizeof inq);
            m->msg_controllen = CMSG_SPACE(sizeof inq);
        }
    }
    return r;
}
ssize_t pd_write(void* p, int fd, const void* buf, size_t n) {
    const iovec v = one(const_cast<void*>(buf), n);
    return guarded<long>([&] { return self(p).send(fd, &v, 1, 0, nullptr, 0); });
}
ssize_t pd_writev(void* p, int fd, const iovec* iov, int cnt) {
    return guarded<long>([&] { return self(p).send(fd, iov, cnt, 0, nullptr, 0); });
}
ssize_t pd_send(void* p, int fd, const void* buf, size_t n, int flags) {
    const iovec v = one(const_cast<void*>(buf), n);
    return guarded<long>([&] { return self(p).send(fd, &v, 1, flags, nullptr, 0); });
}
ssize_t pd_sendto(void* p, int fd, const void* buf, size_t n, int flags, const sockaddr* to,
                  socklen_t len) {
    const iovec v = one(const_cast<void*>(buf), n);
    return guarded<long>([&] { return self(p).send(fd, &v, 1, flags, to, len); });
}
ssize_t pd_sendmsg(void* p, int fd, const msghdr* m, int flags) {
    if (m == nullptr) {
        errno = EFAULT;
        return -1;
    }
    if (m->msg_controllen != 0) { // cmsgs (timestamping, zerocopy...) are not served
        errno = EOPNOTSUPP;
        return -1;
    }
    return guarded<long>([&] {
        return self(p).send(fd, m->msg_iov, static_cast<int>(m->msg_iovlen), flags,
                            static_cast<const sockaddr*>(m->msg_name), m->msg_namelen);
    });
}
int pd_fcntl(void* p, int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const long arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, long) : 0;
    va_end(ap);
    return guarded<int>([&] { return self(p).fcntl(fd, cmd, arg); });
}
int pd_ioctl(void* p, int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return guarded<int>([&] { return self(p).ioctl(fd, request, arg); });
}
int pd_close(void* p, int fd) {
    return guarded<int>([&] { return self(p).close(fd); });
}
int pd_shutdown(void* p, int fd, int how) {
    return guarded<int>([&] { return self(p).shutdown(fd, how); });
}
int pd_getsockopt(void* p, int fd, int level, int name, void* v, socklen_t* n) {
    return guarded<int>([&] { return self(p).getsockopt(fd, level, name, v, n); });
}
int pd_setsockopt(void* p, int fd, int level, int name, const void* v, socklen_t n) {
    return guarded<int>([&] { return self(p).setsockopt(fd, level, name, v, n); });
}
int pd_poll(void* p, pollfd* fds, nfds_t n, int timeout) {
    return guarded<int>([&] { return self(p).poll(fds, n, timeout); });
}
int pd_netdev_send(void* p, const void* buf, size_t n) {
    return guarded<int>([&] { return self(p).netdev_send(buf, n); });
}
int pd_netdev_receive(void* p, void* buf, size_t* n, long long* t) {
    return guarded<int>([&] { return self(p).netdev_receive(buf, n, t); });
}
int pd_usleep(void* p, useconds_t us) {
    return guarded<int>([&] { return self(p).usleep(us); });
}
int pd_gettimeofday(void* p, timeval* tv, struct timezone*) {
    return guarded<int>([&] { return self(p).gettimeofday(tv); });
}
int pd_epoll_create(void* p, int size) {
    return guarded<int>([&] { return self(p).epoll_create(size); });
}
int pd_epoll_ctl(void* p, int epfd, int op, int fd, epoll_event* e) {
    return guarded<int>([&] { return self(p).epoll_ctl(epfd, op, fd, e); });
}
int pd_epoll_wait(void* p, int epfd, epoll_event* e, int max, int timeout) {
    return guarded<int>([&] { return self(p).epoll_wait(epfd, e, max, timeout); });
}
// Pipes and splice are not part of a network stack: scripts that use them fail here.
int pd_pipe(void*, int*) {
    errno = ENOSYS;
    return -1;
}
int pd_splice(void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
    errno = ENOSYS;
    return -1;
}

} // namespace
} // namespace coronet::packetdrill

extern "C" __attribute__((visibility("default"))) void
packetdrill_interface_init(const char* flags, coronet::packetdrill::interface_table* t) {
    using namespace coronet::packetdrill;
    auto s = settings::parse(flags);
    if (!s) {
        std::fprintf(stderr,
                     "coronet-packetdrill: bad --so_flags '%s' "
                     "(local_ip=A.B.C.D/N,gateway=A.B.C.D,mtu=N,seed=N)\n",
                     flags);
        std::abort();
    }
    auto* a = new adapter(*s);
    current.store(a);
    *t = interface_table{
        .self = a,
        .destroy = pd_destroy,
        .socket = pd_socket,
        .bind = pd_bind,
        .listen = pd_listen,
        .accept = pd_accept,
        .connect = pd_connect,
        .read = pd_read,
        .readv = pd_readv,
        .recv = pd_recv,
        .recvfrom = pd_recvfrom,
        .recvmsg = pd_recvmsg,
        .write = pd_write,
        .writev = pd_writev,
        .send = pd_send,
        .sendto = pd_sendto,
        .sendmsg = pd_sendmsg,
        .fcntl = pd_fcntl,
        .ioctl = pd_ioctl,
        .close = pd_close,
        .shutdown = pd_shutdown,
        .getsockopt = pd_getsockopt,
        .setsockopt = pd_setsockopt,
        .poll = pd_poll,
        .netdev_send = pd_netdev_send,
        .netdev_receive = pd_netdev_receive,
        .usleep = pd_usleep,
        .gettimeofday = pd_gettimeofday,
        .epoll_create = pd_epoll_create,
        .epoll_ctl = pd_epoll_ctl,
        .epoll_wait = pd_epoll_wait,
        .pipe = pd_pipe,
        .splice = pd_splice,
    };
}

extern "C" __attribute__((visibility("default"))) int
getsockopt(int fd, int level, int name, void* __restrict value,
           socklen_t* __restrict len) noexcept {
    using namespace coronet::packetdrill;
    if (adapter* a = current.load(); a != nullptr && a->owns(fd))
        return guarded<int>([&] { return a->getsockopt(fd, level, name, value, len); });
    using libc_getsockopt = int (*)(int, int, int, void*, socklen_t*);
    static const auto next = reinterpret_cast<libc_getsockopt>(dlsym(RTLD_NEXT, "getsockopt"));
    if (next == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return next(fd, level, name, value, len);
}
