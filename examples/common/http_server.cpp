#include "examples/common/http_server.hpp"

#include "examples/common/http.hpp"
#include "framework/coronet.hpp"
#include "framework/when_any.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <vector>

namespace coronet::examples {

namespace {

task<result<>> write_text(process& p, handle conn, std::string_view s) {
    co_return co_await p.write_all(conn, std::as_bytes(std::span(s.data(), s.size())));
}

// Answers one parsed request; false when the connection must close.
task<bool> respond(process& p, handle conn, const http::request& req, server_state& st) {
    bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
        co_return (co_await write_text(p, conn, http::error_response(405, req.keep_alive)))
                .has_value() &&
            req.keep_alive;
    }
    auto target = req.target.substr(0, req.target.find('?'));
    if (target == "/hello") {
        std::string out = http::response_head(200, hello_body.size(), "text/plain; charset=utf-8",
                                              req.keep_alive);
        if (!head_only) out += hello_body;
        co_return (co_await write_text(p, conn, out)).has_value() && req.keep_alive;
    }
    std::optional<std::filesystem::path> file;
    if (!st.cfg.root.empty()) file = http::resolve(st.cfg.root, req.target);
    std::error_code ec;
    if (!file || !std::filesystem::is_regular_file(*file, ec)) {
        int status = st.cfg.root.empty() || file ? 404 : 400;
        co_return (co_await write_text(p, conn, http::error_response(status, req.keep_alive)))
                .has_value() &&
            req.keep_alive;
    }
    std::ifstream in(*file, std::ios::binary);
    auto size = std::filesystem::file_size(*file, ec);
    if (!in || ec) {
        (void)co_await write_text(p, conn, http::error_response(500, false));
        co_return false;
    }
    if (!co_await write_text(
            p, conn, http::response_head(200, size, http::content_type(*file), req.keep_alive)))
        co_return false;
    if (head_only) co_return req.keep_alive;
    std::vector<char> chunk(256 * 1024);
    for (std::uintmax_t left = size; left > 0;) {
        auto n = static_cast<std::size_t>(std::min<std::uintmax_t>(left, chunk.size()));
        if (!in.read(chunk.data(), static_cast<std::streamsize>(n)))
            co_return false; // the file shrank
        if (!co_await write_text(p, conn, std::string_view(chunk.data(), n))) co_return false;
        left -= n;
    }
    co_return req.keep_alive;
}

// A read that gives up at `deadline` with ETIMEDOUT (the read is cancelled and awaited).
task<result<std::size_t>> read_before(process& p, handle conn, std::span<std::byte> buf,
                                      time_point deadline) {
    const time_point now = scheduler::current().now();
    if (now >= deadline) co_return error{ETIMEDOUT};
    auto r = co_await when_any(p.read(conn, buf), p.sleep(deadline - now));
    if (r.index() == 1) co_return error{ETIMEDOUT};
    co_return std::get<0>(std::move(r));
}

} // namespace

task<void> http_session(process& p, handle conn, server_state& st) {
    std::string in;
    std::vector<std::byte> buf(16384);
    time_point head_started{}; // when the first byte of the request being read came
    for (bool open = true; open;) {
        auto r = http::parse_request(in);
        if (r.status == http::parse_status::complete) {
            ++st.requests;
            if (st.cfg.log) fmt::print("{} {}\n", r.req.method, r.req.target);
            open = co_await respond(p, conn, r.req, st);
            in.erase(0, r.consumed);
            continue;
        }
        if (r.status == http::parse_status::error) {
            (void)co_await write_text(p, conn, http::error_response(r.error_status, false));
            break;
        }
        const bool idle = in.empty();
        const time_point deadline =
            idle ? scheduler::current().now() + st.cfg.idle_timeout : head_started + st.cfg.header_timeout;
        auto n = co_await read_before(p, conn, buf, deadline);
        if (!n && n.error() == ETIMEDOUT) {
            if (idle) {
                ++st.idle_timeouts;
            } else {
                ++st.header_timeouts;
                (void)co_await write_text(p, conn, http::error_response(408, false));
            }
            break;
        }
        if (!n || *n == 0) break;
        if (idle) head_started = scheduler::current().now();
        in.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    (void)co_await p.close(conn);
    --st.connections;
}

task<void> http_serve(process& p, server_state& st) {
    auto ls = co_await p.listen({ipv4_any, st.cfg.port}, {.backlog = 1024});
    if (!ls) {
        fmt::print(stderr, "listen on port {}: {}\n", st.cfg.port, ls.message());
        co_return;
    }
    fmt::print("httpd on port {}{}\n", st.cfg.port,
               st.cfg.root.empty() ? "" : ", files from " + st.cfg.root);
    std::fflush(stdout);
    for (;;) {
        auto conn = co_await p.accept(*ls);
        if (!conn) {
            if (conn.error() == ECANCELED || conn.error() == EBADF) co_return;
            continue; // e.g. a connection reset before accept
        }
        if (st.connections >= st.cfg.max_connections) {
            p.spawn([&p, c = *conn]() -> task<void> {
                (void)co_await write_text(p, c, http::error_response(503, false));
                (void)co_await p.close(c);
            });
            continue;
        }
        ++st.connections;
        p.spawn(http_session(p, *conn, st));
    }
}

} // namespace coronet::examples
