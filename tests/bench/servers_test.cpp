// scripts/bench's baseline servers (bench/servers): each started on a loopback port, one
// echo, then HTTP requests on one keep-alive connection, compared byte for byte with what
// coronet-echo and coronet-httpd answer (the literals below are coronet-httpd's bytes, as
// curl shows them).
#include "tests/skip.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

// A server program with its standard output on a pipe, killed at the end.
class server_process {
public:
    explicit server_process(std::vector<std::string> argv) {
        int fds[2];
        if (::pipe(fds) != 0) return;
        std::vector<char*> raw;
        for (auto& a : argv)
            raw.push_back(a.data());
        raw.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        if (::posix_spawn(&pid_, raw[0], &fa, nullptr, raw.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        ::close(fds[1]);
        out_ = fds[0];
    }
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;
    ~server_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) ::close(out_);
    }
    // The port from its "listening on port N" line; 0 if none came within 10 s.
    std::uint16_t port() {
        std::string line;
        pollfd p{out_, POLLIN, 0};
        while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10000) == 1) {
            char c[64];
            const ssize_t n = ::read(out_, c, sizeof c);
            if (n <= 0) break;
            line.append(c, static_cast<std::size_t>(n));
        }
        const std::string prefix = "listening on port ";
        if (line.rfind(prefix, 0) != 0) return 0;
        return static_cast<std::uint16_t>(std::stoul(line.substr(prefix.size())));
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

// A blocking client connection to 127.0.0.1:port, reads giving up after 5 s.
class client {
public:
    explicit client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    ~client() { ::close(fd_); }
    bool connected() const noexcept { return connected_; }
    bool send(const std::string& s) {
        return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    }
    // Exactly n bytes, or fewer if the server closed or went silent for 5 s.
    std::string receive(std::size_t n) {
        std::string got;
        char buf[16384];
        while (got.size() < n) {
            const ssize_t k = ::recv(fd_, buf, std::min(sizeof buf, n - got.size()), 0);
            if (k <= 0) break;
            got.append(buf, static_cast<std::size_t>(k));
        }
        return got;
    }

    // The server's FIN came (not a timeout, not more bytes).
    bool closed_by_peer() {
        char b;
        return ::recv(fd_, &b, 1, 0) == 0;
    }

private:
    int fd_;
    bool connected_ = false;
};

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

const std::string hello = "HTTP/1.1 200 OK\r\nServer: coronet\r\nContent-Length: 20\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\nConnection: keep-alive\r\n"
                          "\r\nHello from coronet!\n";
const std::string file_head = "HTTP/1.1 200 OK\r\nServer: coronet\r\nContent-Length: 65536\r\n"
                              "Content-Type: application/octet-stream\r\nConnection: "
                              "keep-alive\r\n\r\n";
const std::string not_found = "HTTP/1.1 404 Not Found\r\nServer: coronet\r\nContent-Length: "
                              "14\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\n"
                              "404 Not Found\n";
const std::string bad_method = "HTTP/1.1 405 Method Not Allowed\r\nServer: coronet\r\n"
                               "Content-Length: 23\r\nContent-Type: text/plain\r\nConnection: "
                               "close\r\nAllow: GET, HEAD\r\n\r\n405 Method Not Allowed\n";

void check_server(const std::string& program) {
    {
        server_process echo({program, "echo", "0"});
        const auto port = echo.port();
        REQUIRE(port != 0);
        client c(port);
        REQUIRE(c.connected());
        const std::string message = pattern(64);
        REQUIRE(c.send(message));
        CHECK(c.receive(message.size()) == message);
        const std::string big = pattern(16384 * 4 + 3); // more than one read's worth
        REQUIRE(c.send(big));
        CHECK(c.receive(big.size()) == big);
    }
    const auto root = std::filesystem::temp_directory_path() /
                      ("coronet-bench-servers-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    const std::string body = pattern(65536);
    std::ofstream(root / "f.bin", std::ios::binary) << body;
    {
        server_process http({program, "http", "0", root.string()});
        const auto port = http.port();
        REQUIRE(port != 0);
        client c(port);
        REQUIRE(c.connected());
        REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
        CHECK(c.receive(hello.size()) == hello);
        // Pipelined: three requests in one write, answered in order.
        REQUIRE(c.send("GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: "
                       "x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
        CHECK(c.receive(file_head.size() + body.size()) == file_head + body);
        CHECK(c.receive(not_found.size()) == not_found);
        CHECK(c.receive(hello.size()) == hello);
        REQUIRE(c.send("POST /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        CHECK(c.receive(bad_method.size()) == bad_method);
        CHECK(c.closed_by_peer());
    }
    std::filesystem::remove_all(root);
}

} // namespace

TEST_CASE("bench_epoll_server answers echo and HTTP as coronet's examples do") {
    check_server(CORONET_EPOLL_SERVER);
}

TEST_CASE("bench_asio_server answers echo and HTTP as coronet's examples do") {
#ifdef CORONET_ASIO_SERVER
    check_server(CORONET_ASIO_SERVER);
#else
    CORONET_SKIP(
        "bench_asio_server is not built with this compiler (bench/servers/CMakeLists.txt)");
#endif
}
