#pragma once
// What an integration test needs around the Linux kernel: a network namespace of its own
// (so that its TAP devices, addresses, routes and pings never touch the machine's real
// interfaces), and child processes (ip, ping) that run inside it.
//
// The test process itself moves into a fresh namespace (unshare(CLONE_NEWNET)) at the start
// of each test case, and brings lo up there; children inherit it. Without the privilege or
// /dev/net/tun the test fails in CI (CI=true) and is skipped elsewhere, with the reason.
#include "framework/net/address.hpp"
#include "tests/skip.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <initializer_list>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <spawn.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace coronet::test {

// The socket address of `a`:`port`, for the kernel sockets of a test.
inline sockaddr_in inet(ipv4_address a, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(a.to_uint());
    return sa;
}

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && (std::string(ci) == "true" || std::string(ci) == "1");
}

// Moves the calling thread into a fresh network namespace with lo up. Empty on success,
// else why it could not.
inline std::string enter_fresh_netns() {
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        return std::string("/dev/net/tun is not usable: ") + std::strerror(errno);
    if (::unshare(CLONE_NEWNET) != 0)
        return std::string("unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN: ") + std::strerror(errno);
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return std::string("socket: ") + std::strerror(errno);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    bool ok = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    int e = errno;
    ::close(s);
    if (!ok) return std::string("bringing lo up: ") + std::strerror(e);
    // No IPv6 in here: its router solicitations and MLD reports would be frames the tests
    // did not ask for. (/proc/sys/net belongs to the namespace of whoever opens it.)
    for (const char* f : {"/proc/sys/net/ipv6/conf/all/disable_ipv6",
                          "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
        int fd = ::open(f, O_WRONLY | O_CLOEXEC);
        if (fd < 0) continue;
        (void)!::write(fd, "1", 1);
        ::close(fd);
    }
    return {};
}

// At the top of a TEST_CASE: into a fresh namespace, or fail (CI) / skip (elsewhere).
#define CORONET_ENTER_NETNS()                                                                      \
    do {                                                                                           \
        std::string why_ = coronet::test::enter_fresh_netns();                                     \
        if (!why_.empty()) {                                                                       \
            if (coronet::test::in_ci()) FAIL(why_);                                                \
            CORONET_SKIP("run as root, or set CI=true to make this a failure: " << why_);          \
        }                                                                                          \
    } while (0)

// A child process of this test, in its namespace. The destructor ends it (SIGTERM, then
// waits for it), so a ping left running never outlives its test case.
class child_process {
public:
    // argv[0] is looked up in PATH. Output goes to `out_fd`, errors to `err_fd` (-1: /dev/null).
    explicit child_process(std::initializer_list<std::string> argv, int out_fd = -1,
                           int err_fd = -1) {
        std::vector<std::string> args(argv);
        std::vector<char*> raw;
        for (auto& a : args)
            raw.push_back(a.data());
        raw.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        if (out_fd >= 0) {
            posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        } else {
            posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        }
        if (err_fd >= 0) {
            posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        } else {
            posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        }
        if (::posix_spawnp(&pid_, raw[0], &fa, nullptr, raw.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGTERM);
            wait();
        }
    }
    bool started() const noexcept { return pid_ > 0; }
    // Sends `signo` to the child (while it runs).
    void signal(int signo) const {
        if (pid_ > 0 && !reaped_) ::kill(pid_, signo);
    }
    // The exit status (-1 if it did not start or was killed by a signal).
    int wait() {
        if (pid_ <= 0) return -1;
        if (!reaped_) {
            int st = 0;
            while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            reaped_ = true;
        }
        return status_;
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = -1;
};

struct command_result {
    int status = -1;
    std::string out;
};

// Runs a command to the end, with its standard output.
inline command_result run(std::initializer_list<std::string> argv) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return {};
    command_result r;
    {
        child_process c(argv, p[1]);
        ::close(p[1]);
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(p[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            r.out.append(buf, static_cast<std::size_t>(n));
        }
        ::close(p[0]);
        r.status = c.wait();
    }
    return r;
}

} // namespace coronet::test
