#pragma once
// adapter: packetdrill's socket calls on integer descriptors, served by coronet system calls
// of one process on the simulation's native stack.
//
// A descriptor names a socket handle of that process or an epoll set of the adapter's own.
// Errors are coronet's errno values, which are Linux's. Calls that wait in Linux wait here
// (simulation::wait_until) unless the socket is non-blocking (fcntl O_NONBLOCK,
// SOCK_NONBLOCK, MSG_DONTWAIT). Readiness for poll and epoll is computed as Linux's tcp_poll
// does, from the TCB's public state.
#include "framework/result.hpp"
#include "tests/conformance/packetdrill/simulation.hpp"

#include <map>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace coronet::packetdrill {

class adapter {
public:
    explicit adapter(settings s) : sim_(s) {}
    ~adapter();
    adapter(const adapter&) = delete;
    adapter& operator=(const adapter&) = delete;

    result<int> socket(int domain, int type, int protocol);
    result<int> bind(int fd, const sockaddr* addr, socklen_t len);
    result<int> listen(int fd, int backlog);
    result<int> accept(int fd, sockaddr* addr, socklen_t* len);
    result<int> connect(int fd, const sockaddr* addr, socklen_t len);
    // `inq`, when not null: TCP_INQ's hint after the read (bytes left to read; 1 for none
    // once the peer's FIN is in, as Linux's tcp_inq_hint), or -1 when TCP_INQ is off.
    result<long> recv(int fd, const iovec* iov, int iovcnt, int flags, sockaddr* from,
                      socklen_t* from_len, int* inq = nullptr);
    result<long> send(int fd, const iovec* iov, int iovcnt, int flags, const sockaddr* to,
                      socklen_t to_len);
    result<int> fcntl(int fd, int cmd, long arg);
    result<int> ioctl(int fd, unsigned long request, void* arg);
    result<int> close(int fd);
    result<int> shutdown(int fd, int how);
    result<int> getsockopt(int fd, int level, int name, void* value, socklen_t* len);
    result<int> setsockopt(int fd, int level, int name, const void* value, socklen_t len);
    result<int> poll(pollfd* fds, nfds_t n, int timeout_ms);
    result<int> epoll_create(int size);
    result<int> epoll_ctl(int epfd, int op, int fd, const epoll_event* event);
    result<int> epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms);

    result<int> netdev_send(const void* buf, std::size_t count);
    result<int> netdev_receive(void* buf, std::size_t* count, long long* time_us);
    result<int> usleep(unsigned us);
    result<int> gettimeofday(timeval* tv);

    simulation& sim() noexcept { return sim_; }
    // Whether fd is one of the adapter's descriptors.
    bool owns(int fd);

    // How far a sniff lets virtual time run for a packet that does not come.
    static constexpr auto sniff_horizon = std::chrono::hours(3);
    // gettimeofday's epoch: virtual time 0 is this many seconds after 1970.
    static constexpr long long epoch_seconds = 1'700'000'000;
    // Each clock reading costs a microsecond of virtual time, so a caller that spins on the
    // clock (packetdrill does, for the last 20 us before an event) sees it move.
    static constexpr auto clock_read_cost = std::chrono::microseconds(1);

private:
    struct epoll_member {
        std::uint32_t events = 0;
        epoll_data_t data{};
        // For EPOLLET: what was ready, and the TCB's RCV.NXT, when last scanned. Linux's edge
        // is a wake-up, so new data reports again (with every ready bit) though the socket
        // was readable already.
        std::uint32_t reported = 0;
        std::uint32_t arrived = 0;
    };
    struct descriptor {
        handle h{};
        bool stream = true;
        bool is_epoll = false;
        bool inq = false; // TCP_INQ: recvmsg carries a TCP_CM_INQ cmsg
        std::map<int, epoll_member> members; // an epoll set's
    };

    // A copy of fd's entry (packetdrill's two threads share the table); EBADF.
    result<descriptor> find(int fd);
    // Enters d under a number that is a real descriptor of the process (on /dev/null), so
    // that it never names one of packetdrill's own files, and packetdrill's final close()
    // of the descriptors a script left open succeeds. EMFILE.
    result<int> insert(descriptor d);
    // Sets fd's TCP_INQ flag; EBADF.
    result<int> set_inq(int fd, bool on);
    // poll(2)'s revents for `fd` (job context).
    short readiness(simulation::world& w, const descriptor& d) const;
    // The TCB's RCV.NXT (0 for a datagram socket): moves whenever data or a FIN arrives.
    std::uint32_t arrivals(simulation::world& w, const descriptor& d) const;
    // scan() counts what is ready (job context); waits until it is not 0 or timeout_ms of
    // virtual time passed (-1: no limit), as poll and epoll_wait do.
    result<int> wait_ready(int timeout_ms, const std::function<int(simulation::world&)>& scan);
    // Waits (unless non-blocking) for `start` to finish, as one coroutine in the process.
    template <class T, class F>
    result<T> blocking(F start);

    simulation sim_;
    std::mutex fds_m_;
    std::map<int, descriptor> fds_;
};

} // namespace coronet::packetdrill
