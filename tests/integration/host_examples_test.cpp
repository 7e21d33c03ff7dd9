// The examples on the host stack (Linux sockets through io_uring), as a user runs them:
// coronet-echo and coronet-httpd started as programs on loopback in the test's own network
// namespace, answered by curl and a kernel socket, and stopped by SIGTERM with status 0;
// coronet-httpd also with two shards, whose per-shard summary lines scripts/bench reads.
#include "tests/integration/netns.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <thread>
#include <vector>

using namespace coronet::test;

namespace {

// The examples are built beside the tests: build/<preset>/examples/coronet-<name>.
std::string example(const std::string& name) {
    char self[PATH_MAX] = {};
    auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    auto path = std::filesystem::path(std::string(self, static_cast<std::size_t>(n)))
                    .parent_path()
                    .parent_path() /
                "examples" / ("coronet-" + name);
    if (!std::filesystem::exists(path)) FAIL("build the examples first: " << path);
    return path.string();
}

// Connects to 127.0.0.1:port, retrying while the server starts.
int connect_loopback(int type, std::uint16_t port) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        int s = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) return s;
        ::close(s);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
}

void wait_for_port(std::uint16_t port) {
    int s = connect_loopback(SOCK_STREAM, port);
    REQUIRE(s >= 0);
    ::close(s);
}

} // namespace

TEST_CASE("coronet-echo on the host stack echoes TCP and UDP on loopback") {
    CORONET_ENTER_NETNS();
    child_process echo({example("echo"), "--stack", "host", "--port", "7007"});
    REQUIRE(echo.started());
    int tcp = connect_loopback(SOCK_STREAM, 7007);
    REQUIRE(tcp >= 0);
    std::string msg(100000, 'e');
    for (std::size_t i = 0; i < msg.size(); ++i)
        msg[i] = static_cast<char>('a' + i % 26);
    std::thread writer(
        [&] { CHECK(::write(tcp, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size())); });
    std::string back;
    char buf[65536];
    while (back.size() < msg.size()) {
        auto n = ::read(tcp, buf, sizeof buf);
        if (n <= 0) break;
        back.append(buf, static_cast<std::size_t>(n));
    }
    writer.join();
    CHECK(back == msg);
    ::close(tcp);

    int udp = connect_loopback(SOCK_DGRAM, 7007);
    REQUIRE(udp >= 0);
    timeval tv{.tv_sec = 2, .tv_usec = 0};
    ::setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string d(30000, 'u');
    CHECK(::send(udp, d.data(), d.size(), 0) == static_cast<ssize_t>(d.size()));
    auto n = ::recv(udp, buf, sizeof buf, 0);
    CHECK(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0))) == d);
    ::close(udp);
}

TEST_CASE("coronet-httpd on the host stack answers curl: files, /hello, keep-alive, status codes") {
    CORONET_ENTER_NETNS();
    auto root =
        std::filesystem::temp_directory_path() / ("coronet-httpd-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    std::string big(3 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 31 + i / 4096);
    std::ofstream(root / "big.bin", std::ios::binary)
        .write(big.data(), static_cast<std::streamsize>(big.size()));
    {
        child_process httpd(
            {example("httpd"), "--stack", "host", "--port", "8080", "--root", root.string()});
        REQUIRE(httpd.started());
        wait_for_port(8080);
        const std::string url = "http://127.0.0.1:8080";

        auto hello = run({"curl", "-sS", url + "/hello"});
        CHECK(hello.out == "Hello from coronet!\n");

        auto file = run({"curl", "-sS", url + "/big.bin"});
        CHECK(file.out.size() == big.size());
        CHECK(file.out == big);

        // Ten URLs on one connection: curl reuses it (keep-alive).
        auto many = run({"curl", "-sS", "-w", "%{http_code} %{num_connects}\\n", "-o", "/dev/null",
                         url + "/hello", "-o", "/dev/null", url + "/hello", "-o", "/dev/null",
                         url + "/hello", "-o", "/dev/null", url + "/hello"});
        CHECK(many.out == "200 1\n200 0\n200 0\n200 0\n");

        auto code = [&](std::initializer_list<std::string> extra, const std::string& path) {
            std::vector<std::string> argv = {"curl",      "-sS", "-o",
                                             "/dev/null", "-w",  "%{http_code}"};
            argv.insert(argv.end(), extra);
            argv.push_back(url + path);
            // run() takes an initializer list; spell the few shapes out.
            if (argv.size() == 7)
                return run({argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6]}).out;
            return run({argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
                        argv[8]})
                .out;
        };
        CHECK(code({}, "/missing") == "404");
        CHECK(code({"-X", "DELETE"}, "/hello") == "405");
        CHECK(code({"-H", "X-Big: " + std::string(10000, 'h')}, "/hello") == "431");
        CHECK(code({}, "/../etc/passwd") ==
              "404"); // curl squashes ..; the server never leaves the root
    }
    std::filesystem::remove_all(root);
}

TEST_CASE("coronet-httpd's admin port serves /metrics and /connections, and SIGUSR1 prints "
          "its counters and sockets") {
    CORONET_ENTER_NETNS();
    // stderr into a file of our own, read after the report.
    char path[] = "/tmp/coronet-httpd-stderr-XXXXXX";
    const int err = ::mkstemp(path);
    REQUIRE(err >= 0);
    {
        child_process httpd(
            {example("httpd"), "--stack", "host", "--port", "8080", "--admin-port", "9090"}, -1,
            err);
        REQUIRE(httpd.started());
        wait_for_port(8080);
        wait_for_port(9090);
        CHECK(run({"curl", "-sS", "http://127.0.0.1:8080/hello"}).out == "Hello from coronet!\n");
        const auto metrics = run({"curl", "-sS", "http://127.0.0.1:9090/metrics"}).out;
        CHECK(metrics.find("# TYPE coronet_httpd_requests counter\ncoronet_httpd_requests 1\n") !=
              std::string::npos);
        CHECK(run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                   "http://127.0.0.1:8080/metrics"})
                  .out == "404"); // not on the public port
        // The socket table of the host stack: the kernel's sockets the server holds.
        const auto table = run({"curl", "-sS", "http://127.0.0.1:9090/connections"}).out;
        CHECK(table.rfind("Netid State", 0) == 0);
        CHECK(table.find("tcp   LISTEN     0      1024   0.0.0.0:8080") != std::string::npos);
        CHECK(table.find("users:((\"httpd\",pid=") != std::string::npos);
        httpd.signal(SIGUSR1);
        std::string report;
        for (int attempt = 0;
             attempt < 200 && report.find("coronet: sockets") == std::string::npos; ++attempt) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            std::ifstream in(path);
            report.assign(std::istreambuf_iterator<char>(in), {});
        }
        CHECK(report.find("--- coronet: counters ---") != std::string::npos);
        CHECK(report.find("--- coronet: sockets ---") != std::string::npos);
        httpd.signal(SIGTERM);
        CHECK(httpd.wait() == 0); // SIGUSR1 reported and did not stop it; SIGTERM did
    }
    ::close(err);
    ::unlink(path);
}

TEST_CASE("coronet-httpd --cores 2 on the host stack counts every connection and request on the "
          "shard that took it, and prints each shard's share at exit") {
    CORONET_ENTER_NETNS();
    char path[] = "/tmp/coronet-httpd-stdout-XXXXXX";
    const int out = ::mkstemp(path);
    REQUIRE(out >= 0);
    constexpr int connections = 16;
    constexpr int per_connection = 3;
    {
        child_process httpd({example("httpd"), "--stack", "host", "--cores", "2", "--port", "8080"},
                            out);
        REQUIRE(httpd.started());
        const std::string request = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
        const std::string body = "Hello from coronet!\n";
        for (int c = 0; c < connections; ++c) {
            const int s = connect_loopback(SOCK_STREAM, 8080);
            REQUIRE(s >= 0);
            std::string pipelined;
            for (int r = 0; r < per_connection; ++r)
                pipelined += request;
            CHECK(::write(s, pipelined.data(), pipelined.size()) ==
                  static_cast<ssize_t>(pipelined.size()));
            // Read until every response's body is in: the requests were all served.
            std::string got;
            char buf[4096];
            auto bodies = [&] {
                int n = 0;
                for (auto at = got.find(body); at != std::string::npos; at = got.find(body, at + 1))
                    ++n;
                return n;
            };
            while (bodies() < per_connection) {
                const auto n = ::read(s, buf, sizeof buf);
                if (n <= 0) break;
                got.append(buf, static_cast<std::size_t>(n));
            }
            CHECK(bodies() == per_connection);
            ::close(s);
        }
        httpd.signal(SIGTERM);
        CHECK(httpd.wait() == 0);
    }
    std::ifstream in(path);
    std::string line;
    std::vector<unsigned> shards;
    std::uint64_t requests = 0, accepted = 0;
    while (std::getline(in, line)) {
        unsigned shard = 0;
        unsigned long long r = 0, a = 0;
        if (std::sscanf(line.c_str(), "httpd: shard %u: %llu requests, %llu connections accepted",
                        &shard, &r, &a) == 3) {
            shards.push_back(shard);
            requests += r;
            accepted += a;
        }
    }
    CHECK(shards == std::vector<unsigned>{0, 1});
    CHECK(requests == connections * per_connection);
    CHECK(accepted == connections);
    ::close(out);
    ::unlink(path);
}
