#pragma once
// The Linux kernel as the other end of coronet's native stack, for the tests in
// tests/integration that run the stack on a TAP device (in the test's own namespace, see
// netns.hpp): the kernel is 10.0.0.1 on the TAP interface, coronet 10.0.0.2.
//
// - run_async / spawn_async: kernel-side commands (curl, wrk, ping, tcpdump) run from a
//   coroutine without blocking coronet's loop.
// - kernel_udp: a kernel UDP socket polled from the loop.
// - kernel_http_reader: an HTTP client on a kernel socket that reads only when told to.
// - kernel_sink / kernel_source: a kernel TCP peer on a thread of its own (plain blocking
//   sockets), hashing what it reads or sends so that a transfer is checked byte for byte
//   without being stored; wait_flag lets a coroutine wait for such a thread.
#include "examples/common/pattern.hpp"
#include "framework/coronet.hpp"
#include "protocols/stack/launch.hpp"
#include "tests/integration/netns.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <sstream>
#include <sys/ioctl.h>
#include <thread>

namespace coronet::test {

using namespace std::chrono_literals;

inline const ipv4_address kernel_ip = ipv4_address(10, 0, 0, 1);
inline const ipv4_address coronet_ip = ipv4_address(10, 0, 0, 2);

// The native stack on a new TAP device, the kernel's end addressed: offloads on or off.
inline stack_options test_stack(bool offload = true) {
    stack_options o;
    o.tap = "ntap%d";
    o.address = ipv4_prefix(coronet_ip, 24);
    o.kernel_address = ipv4_prefix(kernel_ip, 24);
    o.checksum_offload = o.tso = offload;
    o.stop_on_signals = false;
    o.process_name = "test";
    return o;
}

// A command run to its end from a coroutine, without blocking the loop: exit status,
// standard output and standard error.
struct command_output {
    int status = -1;
    std::string out;
    std::string err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A child whose output goes to temporary files, polled from the loop.
class async_child {
public:
    explicit async_child(std::vector<std::string> argv) {
        std::vector<char*> raw;
        for (auto& a : argv)
            raw.push_back(a.data());
        raw.push_back(nullptr);
        int out = ::mkstemp(out_.data());
        int err = ::mkstemp(err_.data());
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out, 1);
        posix_spawn_file_actions_adddup2(&fa, err, 2);
        if (::posix_spawnp(&pid_, raw[0], &fa, nullptr, raw.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        ::close(out);
        ::close(err);
    }
    async_child(const async_child&) = delete;
    async_child& operator=(const async_child&) = delete;
    ~async_child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::unlink(out_.c_str());
        ::unlink(err_.c_str());
    }
    bool started() const noexcept { return pid_ > 0; }
    void signal(int sig) const {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    std::string err_so_far() const { return slurp(err_); }
    // Waits for the end (killing the child after `limit`): its status and output.
    task<command_output> finish(duration limit = 30s) {
        command_output r;
        auto deadline = scheduler::current().now() + limit;
        while (pid_ > 0) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                pid_ = -1;
                break;
            }
            if (scheduler::current().now() > deadline) ::kill(pid_, SIGKILL);
            (void)co_await sleep_for(10ms);
        }
        r.out = slurp(out_);
        r.err = slurp(err_);
        co_return r;
    }

private:
    pid_t pid_ = -1;
    std::string out_ = "/tmp/coronet-it-out-XXXXXX";
    std::string err_ = "/tmp/coronet-it-err-XXXXXX";
};

inline task<command_output> run_async(std::vector<std::string> argv, duration limit = 30s) {
    async_child c(std::move(argv));
    co_return co_await c.finish(limit);
}

// tcpdump on the kernel's end of a TAP device, writing a pcap. started() returns once
// tcpdump says "listening on" (frames sent before that are not in the file); stop() ends
// it with SIGINT, on which it flushes and closes the file. --immediate-mode matters: without
// it libpcap hands packets over a ring block at a time (when full, or after a timeout), and
// a short run ends with "78 packets received by filter, 0 packets captured". Delivered one
// by one, a bulk run overflows the default 2 MiB socket buffer: -B gives it 32 MiB, and
// -s 2048 (frames here are at most 1514 bytes: captures run with offloads off or without
// TCP) keeps each of the ring's slots small: at the default 256 KiB snap length 32 MiB is
// only 128 slots, and tcpdump dropped packets whenever the machine was busy.
class kernel_capture {
public:
    kernel_capture(const std::string& iface, const std::string& pcap)
        : dump_({"tcpdump", "-Z", "root", "-n", "--immediate-mode", "-B", "32768", "-s", "2048",
                 "-U", "-i", iface, "-w", pcap}) {}
    task<bool> started(duration limit = 10s) {
        auto deadline = scheduler::current().now() + limit;
        while (dump_.started() && scheduler::current().now() < deadline) {
            if (dump_.err_so_far().find("listening on") != std::string::npos) co_return true;
            (void)co_await sleep_for(10ms);
        }
        co_return false;
    }
    task<command_output> stop() {
        dump_.signal(SIGINT);
        co_return co_await dump_.finish(10s);
    }

private:
    async_child dump_;
};

// Waits, polling, for a flag another thread sets; false after `limit`.
inline task<bool> wait_flag(const std::atomic<bool>& flag, duration limit = 60s) {
    auto deadline = scheduler::current().now() + limit;
    while (!flag.load()) {
        if (scheduler::current().now() > deadline) co_return false;
        (void)co_await sleep_for(5ms);
    }
    co_return true;
}

// A kernel UDP socket, non-blocking, polled from the loop.
class kernel_udp {
public:
    kernel_udp() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}
    ~kernel_udp() { ::close(fd_); }
    kernel_udp(const kernel_udp&) = delete;
    kernel_udp& operator=(const kernel_udp&) = delete;
    bool send(const std::vector<char>& d, ipv4_address to, std::uint16_t port) const {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(to.to_uint());
        return ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&sa),
                        sizeof sa) == static_cast<ssize_t>(d.size());
    }
    // The next datagram, or empty after `limit`.
    task<std::vector<char>> receive(duration limit = 2s) const {
        std::vector<char> buf(70000);
        auto deadline = scheduler::current().now() + limit;
        while (scheduler::current().now() < deadline) {
            auto n = ::recv(fd_, buf.data(), buf.size(), 0);
            if (n >= 0) {
                buf.resize(static_cast<std::size_t>(n));
                co_return buf;
            }
            (void)co_await sleep_for(1ms);
        }
        co_return std::vector<char>{};
    }

private:
    int fd_;
};

// --- kernel TCP ---

// A kernel socket's blocking calls give up after this long, so a stuck peer fails the test
// instead of hanging it.
inline void set_io_timeout(int fd, int seconds) {
    timeval tv{.tv_sec = seconds, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A listening kernel TCP socket on any address of the namespace (bound before the TAP has
// its address, so coronet can connect as soon as it runs).
class kernel_listener {
public:
    explicit kernel_listener(std::uint16_t port)
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        auto sa = inet(ipv4_address(0, 0, 0, 0), port);
        ok_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 &&
              ::listen(fd_, 16) == 0;
        set_io_timeout(fd_, 60);
    }
    ~kernel_listener() { ::close(fd_); }
    kernel_listener(const kernel_listener&) = delete;
    kernel_listener& operator=(const kernel_listener&) = delete;
    bool ok() const noexcept { return ok_; }
    // The next connection (blocking, up to the timeout), or -1.
    int accept() const {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) set_io_timeout(c, 60);
        return c;
    }

private:
    int fd_;
    bool ok_ = false;
};

// Extra addresses of the kernel's end of the TAP device (10.0.0.<first>, ...), for kernel
// sockets bound to them. remove() takes them away again: with forwarding off, the kernel
// then drops what coronet sends to them (counted in Ip InAddrErrors) with neither a RST nor
// an ICMP error, and its sockets on them can send nothing, so to coronet their peers
// vanished: they never acknowledge again.
class kernel_addresses {
public:
    kernel_addresses(std::string device, int n, std::uint8_t first = 11)
        : device_(std::move(device)) {
        for (int i = 0; i < n; ++i) {
            all_.emplace_back(10, 0, 0, static_cast<std::uint8_t>(first + i));
            ok_ = ok_ && change("add", all_.back());
        }
    }
    ~kernel_addresses() { remove(); }
    kernel_addresses(const kernel_addresses&) = delete;
    kernel_addresses& operator=(const kernel_addresses&) = delete;
    // Whether every add (and remove) succeeded.
    bool ok() const noexcept { return ok_; }
    ipv4_address operator[](std::size_t i) const { return all_[i % all_.size()]; }
    void remove() {
        if (removed_) return;
        removed_ = true;
        for (auto a : all_)
            ok_ = change("del", a) && ok_;
    }

private:
    bool change(const std::string& verb, ipv4_address a) const {
        return run({"ip", "addr", verb, to_string(a) + "/24", "dev", device_}).status == 0;
    }
    std::string device_;
    std::vector<ipv4_address> all_;
    bool ok_ = true;
    bool removed_ = false;
};

// Binds `fd` to `source` (any port); false if that failed.
inline bool bind_source(int fd, ipv4_address source) {
    auto sa = inet(source, 0);
    return ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
}

// A kernel TCP socket that asks coronet's HTTP server for a path and reads the answer only
// when told to, polled from the loop (non-blocking): a reader that stalls, or stops for
// good. SO_RCVBUF is set before connect, so the window it offers stays that small (1: the
// kernel's minimum, SOCK_MIN_RCVBUF; 0: the kernel's default, auto-tuned). From `source`
// if given (one of kernel_addresses, to vanish).
class kernel_http_reader {
public:
    kernel_http_reader(std::uint16_t port, int receive_buffer,
                       std::optional<ipv4_address> source = std::nullopt)
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
        if (receive_buffer > 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        if (source) (void)bind_source(fd_, *source);
        auto sa = inet(coronet_ip, port);
        (void)::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    }
    ~kernel_http_reader() { close_now(); }
    kernel_http_reader(const kernel_http_reader&) = delete;
    kernel_http_reader& operator=(const kernel_http_reader&) = delete;

    // Sends the request once connected; false if that did not happen within `limit`.
    task<bool> request(const std::string& path, duration limit = 10s) {
        auto deadline = scheduler::current().now() + limit;
        while (scheduler::current().now() < deadline) {
            pollfd p{.fd = fd_, .events = POLLOUT, .revents = 0};
            if (::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0) {
                const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n";
                co_return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(req.size());
            }
            (void)co_await sleep_for(5ms);
        }
        co_return false;
    }
    // Bytes that arrived and wait unread in the kernel.
    int unread() const {
        int n = 0;
        ::ioctl(fd_, FIONREAD, &n);
        return n;
    }
    // Reads into `into` until it holds `n` bytes, the server closes, or `limit` passes;
    // whether it holds `n`.
    task<bool> read_until(std::string& into, std::size_t n, duration limit = 30s) {
        auto deadline = scheduler::current().now() + limit;
        char buf[65536];
        while (into.size() < n && scheduler::current().now() < deadline) {
            const ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - into.size()), 0);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) break;
            if (got > 0)
                into.append(buf, static_cast<std::size_t>(got));
            else
                (void)co_await sleep_for(1ms);
        }
        co_return into.size() >= n;
    }
    // Gone at once: a RST (linger 0), as an attacker that simply disappears.
    void close_now() {
        if (fd_ < 0) return;
        linger l{.l_onoff = 1, .l_linger = 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

// What a kernel peer thread saw of one stream.
// The sum of `names` in one protocol's section ("Tcp:", "TcpExt:") of a /proc/net table
// ("/proc/net/snmp", "/proc/net/netstat") of this network namespace: a header line of names
// followed by a line of values.
inline std::uint64_t kernel_net_counters(const std::string& table, const std::string& section,
                                         std::initializer_list<std::string_view> names) {
    std::ifstream f(table);
    std::string header, values;
    while (std::getline(f, header) && std::getline(f, values)) {
        if (header.rfind(section, 0) != 0) continue;
        std::istringstream h(header), v(values);
        std::string name, value;
        std::uint64_t sum = 0;
        while (h >> name && v >> value)
            for (auto wanted : names)
                if (name == wanted) sum += std::stoull(value);
        return sum;
    }
    return 0;
}

// What this namespace's kernel answered and dropped from one point on (deltas by since()):
// peers that vanished silently leave no RST and no ICMP message, and what coronet sends them
// is dropped (Ip InAddrErrors: for an address no longer local, with forwarding off).
struct kernel_replies {
    std::uint64_t rsts = snmp("Tcp:", "OutRsts");
    std::uint64_t icmp = snmp("Icmp:", "OutMsgs");
    std::uint64_t dropped = snmp("Ip:", "InAddrErrors");

    static std::uint64_t snmp(const std::string& section, std::string_view name) {
        return kernel_net_counters("/proc/net/snmp", section, {name});
    }
    kernel_replies since() const {
        kernel_replies now;
        now.rsts -= rsts;
        now.icmp -= icmp;
        now.dropped -= dropped;
        return now;
    }
};

struct stream_report {
    stream_report() = default;
    stream_report(const stream_report& o) // (a copy once the thread is done)
        : done(o.done.load()), bytes(o.bytes), hash(o.hash), error(o.error) {}
    stream_report& operator=(const stream_report&) = delete;
    std::atomic<bool> done{false};
    std::uint64_t bytes = 0;
    std::uint64_t hash = 0;
    int error = 0; // errno of a failed call, 0 if none
};

// FNV-1a of the first n bytes of the pattern stream: what a byte-exact transfer hashes to.
inline std::uint64_t pattern_hash(std::uint64_t n) {
    examples::fnv1a h;
    std::vector<std::byte> buf(65536);
    for (std::uint64_t at = 0; at < n;) {
        auto piece = std::span(buf).first(std::min<std::uint64_t>(buf.size(), n - at));
        examples::fill_pattern(piece, at);
        h.update(piece);
        at += piece.size();
    }
    return h.value();
}

// Reads a connected kernel socket to its end, hashing; closes it.
inline void drain_kernel_socket(int fd, stream_report& r) {
    examples::fnv1a h;
    std::vector<char> buf(1 << 18);
    for (;;) {
        auto n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) r.error = errno;
        if (n <= 0) break;
        h.update(std::as_bytes(std::span(buf).first(static_cast<std::size_t>(n))));
        r.bytes += static_cast<std::uint64_t>(n);
    }
    r.hash = h.value();
    ::close(fd);
}

// A thread that accepts one connection and reads it to the end.
inline std::thread kernel_sink(const kernel_listener& l, stream_report& r) {
    return std::thread([&l, &r] {
        int c = l.accept();
        if (c < 0)
            r.error = errno;
        else
            drain_kernel_socket(c, r);
        r.done = true;
    });
}

// A thread that connects to coronet, sends n bytes of the pattern, shuts its side down and
// waits for coronet's close.
inline std::thread kernel_source(std::uint16_t port, std::uint64_t n, stream_report& r) {
    return std::thread([port, n, &r] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        set_io_timeout(fd, 60);
        auto sa = inet(coronet_ip, port);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
            r.error = errno;
        } else {
            examples::fnv1a h;
            std::vector<std::byte> buf(1 << 18);
            while (r.bytes < n && r.error == 0) {
                auto piece = std::span(buf).first(std::min<std::uint64_t>(buf.size(), n - r.bytes));
                examples::fill_pattern(piece, r.bytes);
                h.update(piece);
                for (std::size_t off = 0; off < piece.size();) {
                    auto w = ::write(fd, piece.data() + off, piece.size() - off);
                    if (w < 0 && errno == EINTR) continue;
                    if (w <= 0) {
                        r.error = errno;
                        break;
                    }
                    off += static_cast<std::size_t>(w);
                }
                r.bytes += piece.size();
            }
            r.hash = h.value();
            ::shutdown(fd, SHUT_WR);
            char c;
            while (::read(fd, &c, 1) > 0) {
            }
        }
        ::close(fd);
        r.done = true;
    });
}

} // namespace coronet::test
