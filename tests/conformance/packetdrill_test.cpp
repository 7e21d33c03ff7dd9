// libcoronet-packetdrill.so driven as packetdrill drives it: loaded with dlopen, its table
// filled by packetdrill_interface_init, socket calls on integers (a blocking accept on a
// thread of its own, as packetdrill's syscall thread), the script's IP datagrams in through
// netdev_send and the stack's out through netdev_receive, time only through usleep and
// gettimeofday. The test plays packetdrill's side: the remote 192.0.2.1 behind the gateway.
#include "protocols/ipv4/wire.hpp"
#include "protocols/tcp/wire.hpp"
#include "tests/conformance/packetdrill/interface.hpp"
#include "tests/conformance/packetdrill/linux_tcp_info.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/ioctl.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace coronet;
using coronet::packetdrill::interface_table;

namespace {

const ipv4_address local(192, 168, 0, 2), remote(192, 0, 2, 1);
constexpr std::uint16_t listen_port = 8080, remote_port = 5555;
constexpr std::uint32_t remote_isn = 0xffffff00; // wraps within the test's data

struct library {
    library() {
        handle =
            dlopen(CORONET_PACKETDRILL_SO, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE); // as packetdrill
        if (handle == nullptr) FAIL(dlerror());
        auto init = reinterpret_cast<packetdrill::interface_init>(
            dlsym(handle, "packetdrill_interface_init"));
        REQUIRE(init != nullptr);
        init(nullptr, &t);
    }
    ~library() {
        t.destroy(t.self);
        dlclose(handle);
    }
    void* handle = nullptr;
    interface_table t{};
};

struct segment {
    tcp::repr h;
    std::vector<std::byte> payload;
    long long time_us = 0;
};

// One datagram from the remote: IPv4 header, TCP header with a checksum, `len` bytes of 'x'.
void send_segment(interface_table& t, tcp::flag flags, std::uint32_t seq, std::uint32_t ack,
                  std::size_t len, tcp::options opts = {}) {
    tcp::repr r;
    r.source_port = port(remote_port);
    r.destination_port = port(listen_port);
    r.sequence = seq;
    r.acknowledgment = ack;
    r.flags = flags;
    r.window = 65535;
    r.options = opts;
    r.payload_length = static_cast<std::uint16_t>(len);
    ipv4::repr ip{.source = remote,
                  .destination = local,
                  .protocol = ipv4::protocol::tcp,
                  .payload_length = static_cast<std::uint16_t>(r.buffer_len())};
    std::vector<std::byte> bytes(ip.buffer_len());
    ipv4::emit(ip, bytes);
    auto tcp_bytes = std::span(bytes).subspan(ipv4::repr::header_length());
    std::fill(tcp_bytes.begin(), tcp_bytes.end(), std::byte{'x'});
    tcp::emit(r, tcp_bytes, {remote, local});
    REQUIRE(t.netdev_send(t.self, bytes.data(), bytes.size()) == 0);
}

segment receive_segment(interface_table& t) {
    std::vector<std::byte> buf(65536);
    std::size_t n = buf.size();
    segment s;
    REQUIRE(t.netdev_receive(t.self, buf.data(), &n, &s.time_us) == 0);
    REQUIRE(n > 0);
    buf.resize(n);
    auto ip = ipv4::parse(std::span<const std::byte>(buf));
    REQUIRE(ip);
    CHECK(ip->source == local);
    CHECK(ip->destination == remote);
    const auto payload = std::span<const std::byte>(buf).subspan(ipv4::repr::header_length());
    auto r = tcp::parse(payload, {local, remote}); // the checksum too
    REQUIRE(r);
    s.h = *r;
    s.payload.assign(payload.begin() + static_cast<std::ptrdiff_t>(r->header_length()),
                     payload.end());
    return s;
}

long long now_us(interface_table& t) {
    timeval tv{};
    REQUIRE(t.gettimeofday(t.self, &tv, nullptr) == 0);
    return static_cast<long long>(tv.tv_sec) * 1'000'000 + tv.tv_usec;
}

sockaddr_in address(ipv4_address a, std::uint16_t p) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(p);
    in.sin_addr.s_addr = htonl(a.to_uint());
    return in;
}

bool has(const tcp::repr& h, tcp::flag f) { return tcp::has(h.flags, f); }

} // namespace

TEST_CASE("packetdrill adapter: handshake, data both ways, a retransmission and a close") {
    library lib;
    auto& t = lib.t;
    using tcp::flag;

    const int ls = t.socket(t.self, AF_INET, SOCK_STREAM, 0);
    REQUIRE(ls >= 0);
    const auto any = address(ipv4_any, listen_port);
    REQUIRE(t.bind(t.self, ls, reinterpret_cast<const sockaddr*>(&any), sizeof any) == 0);
    REQUIRE(t.listen(t.self, ls, 1) == 0);

    // accept() blocks on a thread of its own while the handshake goes on, as packetdrill's.
    int accepted = -2;
    sockaddr_in peer{};
    std::thread acceptor([&] {
        socklen_t len = sizeof peer;
        accepted = t.accept(t.self, ls, reinterpret_cast<sockaddr*>(&peer), &len);
    });

    const long long start = now_us(t);
    tcp::options syn_opts;
    syn_opts.mss = 1000;
    send_segment(t, flag::syn, remote_isn, 0, 0, syn_opts);
    auto syn_ack = receive_segment(t);
    CHECK(has(syn_ack.h, flag::syn));
    CHECK(has(syn_ack.h, flag::ack));
    CHECK(syn_ack.h.acknowledgment == remote_isn + 1);
    CHECK(syn_ack.h.source_port.value() == listen_port);
    CHECK(syn_ack.time_us - start < 1000); // at once, on the virtual clock
    const std::uint32_t iss = syn_ack.h.sequence;

    REQUIRE(t.usleep(t.self, 100'000) == 0); // the remote's RTT: 100 ms
    send_segment(t, flag::ack, remote_isn + 1, iss + 1, 0);
    acceptor.join();
    REQUIRE(accepted >= 0);
    REQUIRE(accepted != ls);
    CHECK(peer.sin_addr.s_addr == htonl(remote.to_uint()));
    CHECK(ntohs(peer.sin_port) == remote_port);

    SECTION("data in: read returns it, and it is acknowledged") {
        send_segment(t, flag::psh | flag::ack, remote_isn + 1, iss + 1, 300);
        std::vector<char> buf(1000);
        CHECK(t.read(t.self, accepted, buf.data(), buf.size()) == 300);
        CHECK(buf[0] == 'x');
        CHECK(buf[299] == 'x');
        auto ack = receive_segment(t); // delayed or not, it comes
        CHECK(has(ack.h, flag::ack));
        CHECK(ack.h.acknowledgment == remote_isn + 301);
        CHECK(ack.payload.empty());
    }

    SECTION("data out: sent, retransmitted on the virtual clock when unacknowledged, then closed") {
        const std::string msg(500, 'y');
        CHECK(t.write(t.self, accepted, msg.data(), msg.size()) == 500);
        auto first = receive_segment(t);
        CHECK(first.h.sequence == iss + 1);
        CHECK(first.payload.size() == 500);
        CHECK(first.payload[0] == std::byte{'y'});

        // No ACK: the sniff lets virtual time run to the retransmission timer.
        auto again = receive_segment(t);
        CHECK(again.h.sequence == iss + 1);
        CHECK(again.payload.size() == 500);
        const auto rto_us = again.time_us - first.time_us;
        CHECK(rto_us >= 200'000); // RFC 6298 §2.4's floor as Linux has it (TCP_RTO_MIN)
        CHECK(rto_us <= 3'000'000);
        CHECK(now_us(t) >= again.time_us);
        send_segment(t, flag::ack, remote_isn + 1, iss + 501, 0);

        REQUIRE(t.close(t.self, accepted) == 0);
        auto fin = receive_segment(t);
        CHECK(has(fin.h, flag::fin));
        CHECK(fin.h.sequence == iss + 501);
        send_segment(t, flag::fin | flag::ack, remote_isn + 1, iss + 502, 0);
        auto last = receive_segment(t);
        CHECK(has(last.h, flag::ack));
        CHECK(!has(last.h, flag::fin));
        CHECK(last.h.acknowledgment == remote_isn + 2);
        errno = 0;
        CHECK(t.close(t.self, accepted) == -1);
        CHECK(errno == EBADF);
    }

    SECTION("poll and non-blocking calls on the connection") {
        pollfd p{.fd = accepted, .events = POLLIN | POLLOUT, .revents = 0};
        CHECK(t.poll(t.self, &p, 1, 0) == 1);
        CHECK(p.revents == POLLOUT); // writable, nothing to read
        REQUIRE(t.fcntl(t.self, accepted, F_SETFL, O_NONBLOCK) == 0);
        CHECK((t.fcntl(t.self, accepted, F_GETFL) & O_NONBLOCK) != 0);
        char c;
        errno = 0;
        CHECK(t.read(t.self, accepted, &c, 1) == -1);
        CHECK(errno == EAGAIN);

        // A poll with a timeout waits on the virtual clock: 250 ms pass, nothing came.
        p = {.fd = accepted, .events = POLLIN, .revents = 0};
        const long long before = now_us(t);
        CHECK(t.poll(t.self, &p, 1, 250) == 0);
        CHECK(now_us(t) - before >= 250'000);

        send_segment(t, flag::psh | flag::ack, remote_isn + 1, iss + 1, 10);
        CHECK(t.poll(t.self, &p, 1, 0) == 1);
        CHECK((p.revents & POLLIN) != 0);
        int inq = 0;
        CHECK(t.ioctl(t.self, accepted, FIONREAD, &inq) == 0);
        CHECK(inq == 10);
    }

    SECTION("epoll, edge-triggered: a report per change, new data reports every ready bit") {
        const int ep = t.epoll_create(t.self, 1);
        REQUIRE(ep >= 0);
        epoll_event e{.events = EPOLLIN | EPOLLOUT | EPOLLET, .data = {.fd = accepted}};
        REQUIRE(t.epoll_ctl(t.self, ep, EPOLL_CTL_ADD, accepted, &e) == 0);
        errno = 0;
        CHECK(t.epoll_ctl(t.self, ep, EPOLL_CTL_ADD, accepted, &e) == -1);
        CHECK(errno == EEXIST);
        epoll_event out[2]{};
        CHECK(t.epoll_wait(t.self, ep, out, 2, 0) == 1);
        CHECK(out[0].events == EPOLLOUT);
        CHECK(out[0].data.fd == accepted);
        CHECK(t.epoll_wait(t.self, ep, out, 2, 0) == 0); // nothing changed
        send_segment(t, flag::psh | flag::ack, remote_isn + 1, iss + 1, 100);
        CHECK(t.epoll_wait(t.self, ep, out, 2, 0) == 1);
        CHECK(out[0].events == (EPOLLIN | EPOLLOUT));
        CHECK(t.epoll_wait(t.self, ep, out, 2, 0) == 0);
        send_segment(t, flag::psh | flag::ack, remote_isn + 101, iss + 1, 100); // still readable
        CHECK(t.epoll_wait(t.self, ep, out, 2, 0) == 1);
        CHECK(out[0].events == (EPOLLIN | EPOLLOUT));
        CHECK(t.close(t.self, ep) == 0);
    }

    SECTION("TCP_INQ: recvmsg's TCP_CM_INQ says what is left to read, 1 for none after a FIN") {
        int one = 1;
        REQUIRE(t.setsockopt(t.self, accepted, IPPROTO_TCP, TCP_INQ, &one, sizeof one) == 0);
        int v = 0;
        socklen_t len = sizeof v;
        CHECK(t.getsockopt(t.self, accepted, IPPROTO_TCP, TCP_INQ, &v, &len) == 0);
        CHECK(v == 1);
        auto recv_inq = [&](std::size_t n) {
            std::vector<char> buf(n);
            iovec io{buf.data(), n};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
            msghdr m{};
            m.msg_iov = &io;
            m.msg_iovlen = 1;
            m.msg_control = control;
            m.msg_controllen = sizeof control;
            REQUIRE(t.recvmsg(t.self, accepted, &m, 0) == static_cast<ssize_t>(n));
            cmsghdr* c = CMSG_FIRSTHDR(&m);
            REQUIRE(c != nullptr);
            CHECK(c->cmsg_level == SOL_TCP);
            CHECK(c->cmsg_type == TCP_CM_INQ);
            int inq = -1;
            std::memcpy(&inq, CMSG_DATA(c), sizeof inq);
            return inq;
        };
        send_segment(t, flag::psh | flag::ack, remote_isn + 1, iss + 1, 100);
        CHECK(recv_inq(30) == 70);
        CHECK(recv_inq(70) == 0);
        send_segment(t, flag::fin | flag::psh | flag::ack, remote_isn + 101, iss + 1, 10);
        CHECK(recv_inq(10) == 1);
    }

    SECTION("TCP_MAXSEG: set on a socket not yet connected, getsockopt answers it") {
        const int fd = t.socket(t.self, AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        int v = 0;
        socklen_t len = sizeof v;
        CHECK(t.getsockopt(t.self, fd, IPPROTO_TCP, TCP_MAXSEG, &v, &len) == 0);
        CHECK(v == 536);
        const int mss = 1100;
        CHECK(t.setsockopt(t.self, fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) == 0);
        len = sizeof v;
        CHECK(t.getsockopt(t.self, fd, IPPROTO_TCP, TCP_MAXSEG, &v, &len) == 0);
        CHECK(v == 1100);
        const int tiny = 20;
        errno = 0;
        CHECK(t.setsockopt(t.self, fd, IPPROTO_TCP, TCP_MAXSEG, &tiny, sizeof tiny) == -1);
        CHECK(errno == EINVAL);
        CHECK(t.close(t.self, fd) == 0);
    }

    SECTION("SO_RCVTIMEO: a read with nothing to read fails with EAGAIN once it passed") {
        const timeval quarter{.tv_sec = 0, .tv_usec = 250'000};
        REQUIRE(t.setsockopt(t.self, accepted, SOL_SOCKET, SO_RCVTIMEO, &quarter, sizeof quarter) ==
                0);
        timeval got{};
        socklen_t len = sizeof got;
        CHECK(t.getsockopt(t.self, accepted, SOL_SOCKET, SO_RCVTIMEO, &got, &len) == 0);
        CHECK(len == sizeof got);
        CHECK(got.tv_sec == 0);
        CHECK(got.tv_usec == 250'000);
        len = sizeof got;
        CHECK(t.getsockopt(t.self, accepted, SOL_SOCKET, SO_SNDTIMEO, &got, &len) == 0);
        CHECK(got.tv_sec == 0); // none
        CHECK(got.tv_usec == 0);

        // The read blocks; the adapter lets virtual time reach the timeout's timer.
        const long long before = now_us(t);
        char c;
        errno = 0;
        CHECK(t.read(t.self, accepted, &c, 1) == -1);
        CHECK(errno == EAGAIN);
        CHECK(now_us(t) - before >= 250'000);
        // Nothing was lost: data that comes later is read.
        send_segment(t, flag::psh | flag::ack, remote_isn + 1, iss + 1, 10);
        std::vector<char> buf(100);
        CHECK(t.read(t.self, accepted, buf.data(), buf.size()) == 10);

        // Linux's checks: EDOM for microseconds out of range, EINVAL for a short value.
        const timeval bad{.tv_sec = 1, .tv_usec = 1'000'000};
        errno = 0;
        CHECK(t.setsockopt(t.self, accepted, SOL_SOCKET, SO_SNDTIMEO, &bad, sizeof bad) == -1);
        CHECK(errno == EDOM);
        const int short_value = 1;
        errno = 0;
        CHECK(t.setsockopt(t.self, accepted, SOL_SOCKET, SO_SNDTIMEO, &short_value,
                           sizeof short_value) == -1);
        CHECK(errno == EINVAL);
        // A part millisecond counts whole: 1.0005 s is 1001 ms.
        const timeval odd{.tv_sec = 1, .tv_usec = 500};
        CHECK(t.setsockopt(t.self, accepted, SOL_SOCKET, SO_SNDTIMEO, &odd, sizeof odd) == 0);
        len = sizeof got;
        CHECK(t.getsockopt(t.self, accepted, SOL_SOCKET, SO_SNDTIMEO, &got, &len) == 0);
        CHECK(got.tv_sec == 1);
        CHECK(got.tv_usec == 1000);
    }

    SECTION("the exported getsockopt: the adapter's descriptors get the whole tcp_info, the "
            "rest go to the C library") {
        // What packetdrill's `%{ }%` blocks call when the object is preloaded.
        using getsockopt_fn = int (*)(int, int, int, void*, socklen_t*);
        auto exported = reinterpret_cast<getsockopt_fn>(dlsym(lib.handle, "getsockopt"));
        REQUIRE(exported != nullptr);
        REQUIRE(reinterpret_cast<void*>(exported) != reinterpret_cast<void*>(&::getsockopt));
        packetdrill::linux_tcp_info info{};
        socklen_t len = sizeof info;
        REQUIRE(exported(accepted, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
        CHECK(len == 280); // as today's Linux; glibc's struct ends at tcpi_total_retrans
        CHECK(info.state == TCP_ESTABLISHED);
        CHECK(info.snd_mss == 1000);
        CHECK(info.snd_cwnd == 10);   // RFC 6928's initial window
        CHECK(info.snd_wnd == 65535); // the remote's window, unscaled: it offered no scaling
        // NewReno and CUBIC have nothing for TCP_CC_INFO: length 0, as Linux's.
        std::array<std::byte, 64> cc{};
        len = sizeof cc;
        CHECK(exported(accepted, IPPROTO_TCP, TCP_CC_INFO, cc.data(), &len) == 0);
        CHECK(len == 0);
        send_segment(t, flag::psh | flag::ack, remote_isn + 1, iss + 1, 300);
        std::array<std::uint32_t, 9> mem{};
        len = sizeof mem;
        CHECK(exported(accepted, SOL_SOCKET, SO_MEMINFO, mem.data(), &len) == 0);
        CHECK(len == sizeof mem);
        CHECK(mem[0] == 300); // SK_MEMINFO_RMEM_ALLOC: unread bytes
        int rcvbuf = 0;
        len = sizeof rcvbuf;
        CHECK(t.getsockopt(t.self, accepted, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == 0);
        CHECK(mem[1] == static_cast<std::uint32_t>(rcvbuf));
        // Fields beyond glibc's struct: the counts of what came in.
        len = sizeof info;
        REQUIRE(exported(accepted, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
        CHECK(info.bytes_received == 300);
        CHECK(info.data_segs_in == 1);

        // Any other descriptor is the kernel's: a socket pair answers SO_TYPE, and the
        // adapter's /dev/null placeholder would say ENOTSOCK to the kernel's getsockopt.
        int pair[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == 0);
        int type = 0;
        len = sizeof type;
        CHECK(exported(pair[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0);
        CHECK(type == SOCK_DGRAM);
        ::close(pair[0]);
        ::close(pair[1]);
        len = sizeof info;
        errno = 0;
        CHECK(::getsockopt(accepted, IPPROTO_TCP, TCP_INFO, &info, &len) == -1);
        CHECK(errno == ENOTSOCK);
    }

    SECTION("socket options: coronet's are served, the rest are ENOPROTOOPT") {
        int one = 1;
        CHECK(t.setsockopt(t.self, accepted, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
        int v = 0;
        socklen_t len = sizeof v;
        CHECK(t.getsockopt(t.self, accepted, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
        CHECK(v == 1);
        len = sizeof v;
        CHECK(t.getsockopt(t.self, accepted, IPPROTO_TCP, TCP_MAXSEG, &v, &len) == 0);
        CHECK(v == 1000);  // the peer's MSS
        ::tcp_info info{}; // Linux's, as packetdrill reads it
        len = sizeof info;
        CHECK(t.getsockopt(t.self, accepted, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
        CHECK(info.tcpi_state == TCP_ESTABLISHED);
        CHECK(info.tcpi_snd_mss == 1000);
        CHECK(t.setsockopt(t.self, accepted, IPPROTO_TCP, TCP_CORK, &one, sizeof one) == 0);
        const int lowat = 4000;
        CHECK(t.setsockopt(t.self, accepted, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
                           sizeof lowat) == 0);
        len = sizeof v;
        CHECK(t.getsockopt(t.self, accepted, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &len) == 0);
        CHECK(v == 4000);
        errno = 0;
        CHECK(t.setsockopt(t.self, accepted, IPPROTO_TCP, TCP_FASTOPEN, &one, sizeof one) == -1);
        CHECK(errno == ENOPROTOOPT);
        errno = 0;
        CHECK(t.getsockopt(t.self, 99, SOL_SOCKET, SO_ERROR, &v, &len) == -1);
        CHECK(errno == EBADF);
    }
}

TEST_CASE("packetdrill adapter: time moves only through the interface, exactly") {
    library lib;
    auto& t = lib.t;
    const long long a = now_us(t);
    REQUIRE(t.usleep(t.self, 1'234'567) == 0);
    const long long b = now_us(t);
    // The sleep, plus the microsecond each clock reading costs.
    CHECK(b - a == 1'234'568);
}

TEST_CASE("packetdrill adapter: connect to a silent peer retransmits its SYN, a RST refuses it") {
    library lib;
    auto& t = lib.t;
    const int fd = t.socket(t.self, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    const auto to = address(remote, remote_port);
    errno = 0;
    CHECK(t.connect(t.self, fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == -1);
    CHECK(errno == EINPROGRESS);
    auto syn = receive_segment(t);
    CHECK(has(syn.h, tcp::flag::syn));
    CHECK(syn.h.destination_port.value() == remote_port);
    auto again = receive_segment(t); // the sniff lets the SYN timer fire
    CHECK(has(again.h, tcp::flag::syn));
    CHECK(again.h.sequence == syn.h.sequence);
    CHECK(again.time_us - syn.time_us >= 1'000'000); // RFC 6298 §2.1: an initial RTO of 1 s

    tcp::repr rst;
    rst.source_port = port(remote_port);
    rst.destination_port = syn.h.source_port;
    rst.sequence = 0;
    rst.acknowledgment = syn.h.sequence + 1;
    rst.flags = tcp::flag::rst | tcp::flag::ack;
    ipv4::repr ip{.source = remote,
                  .destination = local,
                  .protocol = ipv4::protocol::tcp,
                  .payload_length = static_cast<std::uint16_t>(rst.buffer_len())};
    std::vector<std::byte> bytes(ip.buffer_len());
    ipv4::emit(ip, bytes);
    tcp::emit(rst, std::span(bytes).subspan(ipv4::repr::header_length()), {remote, local});
    REQUIRE(t.netdev_send(t.self, bytes.data(), bytes.size()) == 0);

    int err = 0;
    socklen_t len = sizeof err;
    CHECK(t.getsockopt(t.self, fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK(err == ECONNREFUSED);
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    CHECK(t.poll(t.self, &p, 1, 0) == 1);
    CHECK((p.revents & POLLERR) != 0);

    // A datagram that is not IPv4 is refused, not injected.
    const std::byte v6[40] = {std::byte{0x60}};
    errno = 0;
    CHECK(t.netdev_send(t.self, v6, sizeof v6) == -1);
    CHECK(errno == EAFNOSUPPORT);
}

namespace {
// As packetdrill's await_idle_thread: waits (at most 1 s, its bound) until `thread` has
// started and sleeps ('S' in /proc/self/task/TID/stat: its blocking call waits).
bool await_sleeping(const std::atomic<pid_t>& thread) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until) {
        if (const pid_t tid = thread; tid != 0) {
            const auto path = "/proc/self/task/" + std::to_string(tid) + "/stat";
            if (std::FILE* f = std::fopen(path.c_str(), "r")) {
                char buf[512] = {};
                const auto n = std::fread(buf, 1, sizeof buf - 1, f);
                std::fclose(f);
                // "TID (comm) S ...": the last ')' ends comm.
                const std::string_view stat(buf, n);
                const auto end = stat.rfind(')');
                if (end != std::string_view::npos && end + 2 < stat.size() && stat[end + 2] == 'S')
                    return true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}
} // namespace

TEST_CASE("packetdrill adapter: a sleep waits until the thread whose blocking call ended took "
          "its result") {
    library lib;
    auto& t = lib.t;
    const int ls = t.socket(t.self, AF_INET, SOCK_STREAM, 0);
    REQUIRE(ls >= 0);
    const auto any = address(ipv4_any, listen_port);
    REQUIRE(t.bind(t.self, ls, reinterpret_cast<const sockaddr*>(&any), sizeof any) == 0);
    REQUIRE(t.listen(t.self, ls, 1) == 0);

    // packetdrill's protocol: its main thread holds the run lock but while it sleeps; its
    // syscall thread, once the call returns, reads the clock (the call's end time), then takes
    // the lock to record the accepted descriptor, then waits for its next call.
    std::mutex run_lock;
    std::condition_variable next_call;
    bool recorded = false, over = false;
    int accepted = -2;
    long long end_us = 0;
    std::unique_lock main_holds(run_lock);
    std::atomic<pid_t> syscall_tid{0};
    std::thread syscall_thread([&] {
        syscall_tid = gettid();
        accepted = t.accept(t.self, ls, nullptr, nullptr);
        // Slow on purpose: a sleep that did not wait would be over long before this.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        timeval tv{};
        (void)t.gettimeofday(t.self, &tv, nullptr);
        end_us = static_cast<long long>(tv.tv_sec) * 1'000'000 + tv.tv_usec;
        std::unique_lock l(run_lock);
        recorded = true;
        next_call.wait(l, [&] { return over; });
    });

    // packetdrill's next event waits until its syscall thread sleeps in the blocking call
    // (await_idle_thread); so does this test, or on a loaded machine the accept could start
    // after the sleep below, with no hand-back owed.
    REQUIRE(await_sleeping(syscall_tid));

    tcp::options syn_opts;
    syn_opts.mss = 1000;
    send_segment(t, tcp::flag::syn, remote_isn, 0, 0, syn_opts);
    auto syn_ack = receive_segment(t);
    REQUIRE(t.usleep(t.self, 10'000) == 0);
    send_segment(t, tcp::flag::ack, remote_isn + 1, syn_ack.h.sequence + 1, 0); // accept ends
    const long long ack_us = now_us(t);

    main_holds.unlock();
    REQUIRE(t.usleep(t.self, 5'000) == 0); // as a script's "+.005 %{ }%" after the accept
    main_holds.lock();
    CHECK(recorded);
    CHECK(accepted >= 0);
    CHECK(end_us >= ack_us);
    CHECK(end_us - ack_us < 5'000); // read before the sleep's 5 ms passed
    CHECK(now_us(t) - ack_us >= 5'000);

    over = true;
    main_holds.unlock();
    next_call.notify_all();
    syscall_thread.join();
}
