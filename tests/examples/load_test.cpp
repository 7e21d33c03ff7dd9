// coronet-load end to end, on the host stack over loopback: against coronet's own echo and
// HTTP servers (request counts, bytes, zero errors), and against servers that misbehave on
// purpose, one error kind each (refused, reset, closed, short, invalid, timeout). Then the
// program itself: its exit status for a closed port and for a wrong flag.
#include "drivers/host/host_stack.hpp"
#include "examples/common/http_server.hpp"
#include "examples/load/load.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <sys/wait.h>

using namespace coronet;
using namespace coronet::load;
using namespace std::chrono_literals;

namespace {

const ipv4_address loopback(127, 0, 0, 1);

std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

// A server process on an ephemeral loopback port: `session` serves each connection.
struct world {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
    ref<process> server = process::create("server", &stack);
    ref<process> client = process::create("client", &stack);
    handle listener{};
    endpoint where{};

    explicit world(std::function<task<void>(process&, handle)> session)
        : session_(std::move(session)) {
        listener = server->listen({loopback, 0}, {.backlog = 1024}).value();
        where = server->get_socket_name(listener).value();
        server->spawn([this]() -> task<void> {
            for (;;) {
                auto conn = co_await server->accept(listener);
                if (!conn) co_return;
                server->spawn(session_(*server, *conn));
            }
        });
    }
    // Runs the load against the server, then ends the server.
    load_stats run(load_config cfg) {
        cfg.target = where;
        cfg.progress_every = duration::zero();
        load_stats out;
        client->spawn([&]() -> task<void> { out = co_await run_load(*client, cfg); });
        sched.run(client->join());
        (void)server->close(listener);
        sched.run(server->join());
        return out;
    }

private:
    std::function<task<void>(process&, handle)> session_;
};

task<void> echo_session(process& p, handle conn) {
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await p.read(conn, buf);
        if (!n || *n == 0) break;
        if (!co_await p.write_all(conn, std::span(buf).first(*n))) break;
    }
    (void)co_await p.close(conn);
}

// A server that reads a request, answers `reply` and then closes (RST if `reset`), or holds
// the connection open without answering if `hold`.
std::function<task<void>(process&, handle)> scripted(std::string reply, bool reset = false,
                                                     bool hold = false) {
    return [=](process& p, handle conn) -> task<void> {
        std::array<std::byte, 4096> buf;
        auto n = co_await p.read(conn, buf);
        if (n && *n > 0) {
            if (!reply.empty()) (void)co_await p.write_all(conn, bytes_of(reply));
            if (hold)
                while (true) {
                    auto more = co_await p.read(conn, buf);
                    if (!more || *more == 0) break;
                }
            if (reset) (void)p.set_socket_option(conn, socket_option::linger, 0);
        }
        (void)co_await p.close(conn);
    };
}

// The world above with coronet's HTTP server (examples/common/http_server) as the server.
struct http_world {
    examples::httpd_config cfg;
    examples::server_state st{cfg};
    world w{[this](process& p, handle conn) {
        ++st.connections;
        return examples::http_session(p, conn, st);
    }};
};

// A loopback port nobody listens on: taken, then closed again.
endpoint closed_port(process& p) {
    auto probe = p.listen({loopback, 0}).value();
    auto where = p.get_socket_name(probe).value();
    REQUIRE(p.close(probe));
    return where;
}

std::uint64_t others(const load_stats& s, error_kind except) { return s.error_total() - s[except]; }

} // namespace

TEST_CASE("load: echo against coronet's echo server, pipelined, every byte back", "[load]") {
    world w(echo_session);
    load_config cfg;
    cfg.mode = load_mode::echo;
    cfg.connections = 8;
    cfg.requests = 2000;
    cfg.pipeline = 4;
    cfg.size = 1000;
    auto s = w.run(cfg);
    CHECK(s.responses == 2000);
    CHECK(s.latency.count() == 2000);
    CHECK(s.bytes_sent == 2000 * 1000);
    CHECK(s.bytes_received == 2000 * 1000);
    CHECK(s.connects == 8);
    CHECK(s.error_total() == 0);
    CHECK(exit_code(s) == 0);
}

TEST_CASE("load: echo messages larger than the socket buffers do not deadlock", "[load]") {
    world w(echo_session);
    load_config cfg;
    cfg.mode = load_mode::echo;
    cfg.connections = 2;
    cfg.requests = 8;
    cfg.pipeline = 2;
    cfg.size = 8 << 20; // 16 MiB in flight per connection, both ways at once
    auto s = w.run(cfg);
    CHECK(s.responses == 8);
    CHECK(s.bytes_received == 8ull * (8 << 20));
    CHECK(s.error_total() == 0);
}

TEST_CASE("load: HTTP against coronet's server, keep-alive and pipelined", "[load]") {
    http_world hw;
    auto& w = hw.w;
    load_config cfg;
    cfg.connections = 16;
    cfg.requests = 3000;
    cfg.pipeline = 2;
    cfg.path = "/hello";
    auto s = w.run(cfg);
    CHECK(s.responses == 3000);
    CHECK(hw.st.requests == 3000);
    CHECK(s.connects == 16);
    CHECK(s.error_total() == 0);
    const std::string one = "GET /hello HTTP/1.1\r\nHost: " + to_string(w.where) + "\r\n\r\n";
    CHECK(s.bytes_sent == 3000 * one.size());
    CHECK(s.bytes_received % 3000 == 0); // every response alike
}

TEST_CASE("load: rate mode opens a connection per request", "[load]") {
    http_world hw;
    auto& w = hw.w;
    load_config cfg;
    cfg.connections = 4;
    cfg.requests = 200;
    cfg.rate_mode = true;
    cfg.path = "/hello";
    auto s = w.run(cfg);
    CHECK(s.responses == 200);
    CHECK(s.connects == 200);
    CHECK(hw.st.requests == 200);
    CHECK(s.error_total() == 0);
}

TEST_CASE("load: a duration run ends by itself, without errors", "[load]") {
    world w(echo_session);
    load_config cfg;
    cfg.mode = load_mode::echo;
    cfg.connections = 4;
    cfg.run_for = 200ms;
    auto s = w.run(cfg);
    CHECK(s.responses > 0);
    CHECK(s.error_total() == 0); // the requests cut off at the deadline are not errors
}

// Bulk servers: a source that writes `limit` bytes (0: until the peer closes) then closes,
// and a sink that reads and drops (or, with `stall`, reads nothing at all).
std::function<task<void>(process&, handle)> source(std::uint64_t limit = 0) {
    return [=](process& p, handle conn) -> task<void> {
        std::vector<std::byte> chunk(65536, std::byte{0x5a});
        for (std::uint64_t sent = 0; limit == 0 || sent < limit; sent += chunk.size())
            if (!co_await p.write_all(conn, chunk)) break;
        (void)co_await p.close(conn);
    };
}

std::function<task<void>(process&, handle)> sink(std::uint64_t* got, bool stall = false) {
    return [=](process& p, handle conn) -> task<void> {
        std::array<std::byte, 65536> buf;
        for (;;) {
            if (stall) {
                (void)co_await p.sleep(900ms); // past the client's timeout, and then gone
                break;
            }
            auto n = co_await p.read(conn, buf);
            if (!n || *n == 0) break;
            *got += *n;
        }
        (void)co_await p.close(conn);
    };
}

TEST_CASE("load: bulk-send reads what the server sends until the deadline", "[load][bulk]") {
    world w(source());
    load_config cfg;
    cfg.mode = load_mode::bulk_send;
    cfg.connections = 2;
    cfg.run_for = 300ms;
    auto s = w.run(cfg);
    CHECK(s.bytes_received > 1 << 20);
    CHECK(s.bytes_sent == 0);
    CHECK(s.responses == 0);
    CHECK(s.latency.count() == 0);
    CHECK(s.connects == 2);
    CHECK(s.error_total() == 0); // the reads the deadline cancels are not errors
    CHECK(exit_code(s) == 0);
}

TEST_CASE("load: bulk-recv writes until the deadline, every byte counted reaches the server",
          "[load][bulk]") {
    std::uint64_t got = 0;
    world w(sink(&got));
    load_config cfg;
    cfg.mode = load_mode::bulk_recv;
    cfg.connections = 1;
    cfg.run_for = 300ms;
    auto s = w.run(cfg);
    CHECK(s.bytes_sent > 1 << 20);
    CHECK(s.bytes_received == 0);
    CHECK(s.connects == 1);
    CHECK(s.error_total() == 0);
    CHECK(exit_code(s) == 0);
    CHECK(got >= s.bytes_sent); // counted once written whole; the cut-off write may add more
}

TEST_CASE("load: bulk, a server that stops early or stalls is an error", "[load][bulk]") {
    load_config cfg;
    cfg.connections = 1;
    cfg.run_for = 700ms;
    cfg.timeout = 200ms;
    SECTION("the source closes after 1 MiB: closed, and the connection is opened again") {
        world w(source(1 << 20));
        cfg.mode = load_mode::bulk_send;
        auto s = w.run(cfg);
        CHECK(s[error_kind::closed] >= 2);
        CHECK(others(s, error_kind::closed) == 0);
        CHECK(s.bytes_received >= s[error_kind::closed] << 20);
        CHECK(s.connects >= 2);
        CHECK(exit_code(s) == 1);
    }
    SECTION("the sink reads nothing: a timeout once the buffers are full") {
        std::uint64_t got = 0;
        world w(sink(&got, true));
        cfg.mode = load_mode::bulk_recv;
        auto s = w.run(cfg);
        CHECK(s[error_kind::timeout] >= 1);
        CHECK(others(s, error_kind::timeout) == 0);
        CHECK(got == 0);
        CHECK(exit_code(s) == 1);
    }
    SECTION("nothing moved is exit status 1 even without errors") {
        load_stats none;
        none.bulk = true;
        CHECK(exit_code(none) == 1);
        none.bytes_received = 1;
        CHECK(exit_code(none) == 0);
    }
}

TEST_CASE("load: 404s are responses and errors of their own kind", "[load]") {
    http_world hw;
    auto& w = hw.w;
    load_config cfg;
    cfg.connections = 2;
    cfg.requests = 10;
    cfg.path = "/missing";
    auto s = w.run(cfg);
    CHECK(s.responses == 10);
    CHECK(s[error_kind::http_status] == 10);
    CHECK(others(s, error_kind::http_status) == 0);
    CHECK(exit_code(s) == 1);
}

TEST_CASE("load: a closed port is connect_refused on every connection, and exit status 1",
          "[load]") {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
    auto p = process::create("client", &stack);
    const auto closed = closed_port(*p);
    load_config cfg;
    cfg.target = closed;
    cfg.connections = 5;
    cfg.requests = 100;
    cfg.progress_every = duration::zero();
    load_stats s;
    p->spawn([&]() -> task<void> { s = co_await run_load(*p, cfg); });
    sched.run(p->join());
    CHECK(s[error_kind::connect_refused] == 5); // one each: a refusing server is not retried
    CHECK(others(s, error_kind::connect_refused) == 0);
    CHECK(s.responses == 0);
    CHECK(exit_code(s) == 1);

    SECTION("in rate mode every attempt is one request, and one error") {
        cfg.rate_mode = true;
        p->spawn([&]() -> task<void> { s = co_await run_load(*p, cfg); });
        sched.run(p->join());
        CHECK(s[error_kind::connect_refused] == 100);
    }
}

TEST_CASE("load: misbehaving servers, each error counted by kind, never a hang", "[load]") {
    load_config cfg;
    cfg.connections = 1;
    cfg.requests = 3;
    cfg.timeout = 200ms;
    struct expectation {
        const char* what;
        std::function<task<void>(process&, handle)> server;
        error_kind kind;
    } cases[] = {
        {"reset", scripted("", true), error_kind::reset},
        {"closed unanswered", scripted(""), error_kind::closed},
        {"short body", scripted("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"),
         error_kind::short_response},
        {"short head", scripted("HTTP/1.1 200 OK\r\nContent-"), error_kind::short_response},
        {"not HTTP", scripted("SSH-2.0-OpenSSH_9.2\r\n\r\n"), error_kind::invalid_response},
        {"chunked", scripted("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
         error_kind::invalid_response},
        {"silent", scripted("", false, true), error_kind::timeout},
    };
    for (auto& c : cases) {
        SECTION(c.what) {
            world w(c.server);
            auto s = w.run(cfg);
            CHECK(s[c.kind] == 3); // one request per connection: three connections, three errors
            CHECK(others(s, c.kind) == 0);
            CHECK(s.responses == 0);
            CHECK(s.connects == 3);
            CHECK(exit_code(s) == 1);
        }
    }
    SECTION("an echo that changes a byte") {
        world w([](process& p, handle conn) -> task<void> {
            std::array<std::byte, 4096> buf;
            auto n = co_await p.read(conn, buf);
            if (n && *n > 0) {
                buf[0] ^= std::byte{1};
                (void)co_await p.write_all(conn, std::span(buf).first(*n));
            }
            (void)co_await p.close(conn);
        });
        cfg.mode = load_mode::echo;
        auto s = w.run(cfg);
        CHECK(s[error_kind::invalid_response] == 3);
        CHECK(others(s, error_kind::invalid_response) == 0);
    }
}

TEST_CASE("load: the program exits 1 for a closed port and 2 for a wrong flag", "[load]") {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
    auto p = process::create("probe", &stack);
    const auto closed = closed_port(*p);
    auto run = [](const std::string& args) {
        const std::string cmd = std::string(CORONET_LOAD_BINARY) + " " + args + " >/dev/null 2>&1";
        int status = std::system(cmd.c_str());
        REQUIRE(WIFEXITED(status));
        return WEXITSTATUS(status);
    };
    CHECK(run("--connect " + to_string(closed) + " -n 10 -c 2 -q") == 1);
    CHECK(run("--connect " + to_string(closed) + " --no-such-flag") == 2);
    CHECK(run("--connect 127.0.0.1") == 2);                // no port
    CHECK(run("--connect 127.0.0.1:1 --path hello") == 2); // not origin-form
    CHECK(run("--connect 127.0.0.1:1 -n 5 -d 1") == 2);    // a count or a duration, not both
    CHECK(run("--connect 127.0.0.1:1 --mode bulk-send -n 5") == 2); // bulk runs for a time
    CHECK(run("--connect 127.0.0.1:1 --mode bulk-recv --pipeline 2") == 2);
    CHECK(run("--connect 127.0.0.1:1 --mode bulk --rate-mode") == 2); // no such mode
}
