#include "examples/common/http_server.hpp"

#include "examples/common/http.hpp"
#include "framework/coronet.hpp"
#include "framework/file/file.hpp"
#include "framework/process/socket_table.hpp"
#include "framework/wait_queue.hpp"
#include "framework/when_any.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace coronet::examples {

fs::file open_root(const std::string& root) {
    if (root.empty()) return {};
    auto dir = fs::open_directory(root);
    if (!dir)
        throw std::runtime_error(fmt::format("coronet-httpd: cannot open the root {}: {}", root,
                                             std::strerror(dir.error())));
    return std::move(*dir);
}

namespace {

task<result<>> write_text(process& p, handle conn, std::string_view s) {
    co_return co_await p.write_all(conn, std::as_bytes(std::span(s.data(), s.size())));
}

// The status a failed file lookup earns; ENOBUFS: no file buffer came free in buffer_wait.
int status_for(int err) { return err == ENOBUFS ? 503 : http::file_error_status(err); }

task<bool> send_error(process& p, handle conn, int status, bool keep_alive) {
    keep_alive = keep_alive && status < 500;
    co_return (co_await write_text(p, conn, http::error_response(status, keep_alive)))
            .has_value() &&
        keep_alive;
}

// Every file buffer is held (by the cache, or by sockets whose receivers have not
// acknowledged them yet): waits until one comes back, at most cfg.buffer_wait.
task<bool> wait_for_buffer(process& p, server_state& st) {
    ++st.buffer_waits;
    auto freed = [](wait_queue& q) -> task<result<>> { co_return co_await q.wait(); };
    auto r = co_await when_any(freed(st.files.buffers_freed()), p.sleep(st.cfg.buffer_wait));
    co_return r.index() == 0 && std::get<0>(r).has_value();
}

// `head` (copied into a head buffer) then `body` (as it is), in one send_zc: on the native
// stack TCP segments share the body's buffers until acknowledged, no byte of it copied; the
// host stack's kernel copies each slice as a write would. A stack without send_zc, or no
// head buffer free, gets plain writes.
task<bool> send_response(process& p, handle conn, std::string_view head, packet body,
                         server_state& st) {
    packet out;
    if (!head.empty()) {
        auto h = packet::allocate(st.heads, 0);
        if (h &&
            h->append(std::as_bytes(std::span(head.data(), head.size())), st.head_bytes_copied)) {
            out = std::move(*h);
        } else if (!co_await write_text(p, conn, head)) {
            co_return false;
        }
    }
    out.append(std::move(body));
    auto sent = co_await p.send_zc_all(conn, out);
    if (sent || sent.error() != EOPNOTSUPP) co_return sent.has_value();
    for (auto slice : out.slices())
        if (!co_await p.write_all(conn, slice)) co_return false;
    co_return true;
}

// A file above the cache's entry bound, chunk by chunk: each chunk read into file buffers
// while the previous one is still on its way, then handed to the socket.
task<bool> stream_file(process& p, handle conn, const std::string& path, const http::request& req,
                       std::string_view type, server_state& st) {
    auto f = co_await fs::open_beneath(st.root_dir, path);
    if (!f) co_return co_await send_error(p, conn, status_for(f.error()), req.keep_alive);
    auto fst = co_await fs::stat(*f);
    if (!fst) co_return co_await send_error(p, conn, 500, false);
    if (!fst->regular()) co_return co_await send_error(p, conn, 404, req.keep_alive);
    std::string head = http::response_head(200, fst->size, type, req.keep_alive);
    if (req.method == "HEAD")
        co_return (co_await write_text(p, conn, head)).has_value() && req.keep_alive;
    for (std::uint64_t off = 0; off < fst->size;) {
        auto chunk = co_await fs::read(*f, st.files, off,
                                       std::min<std::uint64_t>(file_chunk, fst->size - off));
        if (!chunk && chunk.error() == ENOBUFS) {
            if (co_await wait_for_buffer(p, st)) continue;
        }
        if (!chunk || chunk->empty()) { // the file shrank, or a read failed
            if (off == 0)
                co_return co_await send_error(p, conn, status_for(chunk ? EIO : chunk.error()),
                                              false);
            co_return false; // the head promised more bytes than there are: close
        }
        off += chunk->length();
        st.file_bytes_sent += chunk->length();
        if (!co_await send_response(p, conn, std::exchange(head, {}), std::move(*chunk), st))
            co_return false;
    }
    if (!head.empty()) { // an empty file: the head alone
        if (!co_await write_text(p, conn, head)) co_return false;
    }
    ++st.files_sent;
    co_return req.keep_alive;
}

// A file under the root (`file` is relative to it): from the cache when it is small, else
// streamed.
task<bool> serve_file(process& p, handle conn, const std::filesystem::path& file,
                      const http::request& req, server_state& st) {
    const std::string path = file.string();
    const std::string_view type = http::content_type(file);
    auto got = co_await st.cache.get(path);
    // (No co_await on the right of && in a while condition: g++ 12 evaluates it regardless.)
    while (!got && got.error() == ENOBUFS) {
        if (!co_await wait_for_buffer(p, st)) break;
        got = co_await st.cache.get(path);
    }
    if (!got && got.error() == EFBIG) co_return co_await stream_file(p, conn, path, req, type, st);
    if (!got) co_return co_await send_error(p, conn, status_for(got.error()), req.keep_alive);
    std::string head = http::response_head(200, got->status.size, type, req.keep_alive);
    if (req.method == "HEAD")
        co_return (co_await write_text(p, conn, head)).has_value() && req.keep_alive;
    const std::size_t n = got->data.length();
    if (!co_await send_response(p, conn, head, std::move(got->data), st)) co_return false;
    ++st.files_sent;
    st.file_bytes_sent += n;
    co_return req.keep_alive;
}

// A text response to GET or HEAD.
task<bool> send_text(process& p, handle conn, const http::request& req, std::string_view type,
                     std::string_view body) {
    std::string out = http::response_head(200, body.size(), type, req.keep_alive);
    if (req.method != "HEAD") out += body;
    co_return (co_await write_text(p, conn, out)).has_value() && req.keep_alive;
}

// The admin port's paths.
task<bool> respond_admin(process& p, handle conn, const http::request& req, std::string_view target,
                         server_state& st) {
    if (target == "/metrics") {
        std::string body = st.stack_counters != nullptr
                               ? st.stack_counters->dump(counter_registry::format::prometheus)
                               : std::string();
        body += httpd_metrics(st);
        co_return co_await send_text(p, conn, req, "text/plain; version=0.0.4; charset=utf-8",
                                     body);
    }
    if (target == "/counters") {
        const std::string body =
            st.stack_counters != nullptr ? st.stack_counters->dump() : std::string();
        co_return co_await send_text(p, conn, req, "text/plain; charset=utf-8", body);
    }
    // The socket table of the stack this process runs on (framework/process/socket_table.hpp):
    // either stack, this shard's sockets and processes.
    if ((target == "/connections" || target == "/connections.json") && p.stack() != nullptr) {
        if (auto rows = socket_table(*p.stack())) {
            // Named, not a temporary of ?: inside co_await, which g++ 12 destroys twice.
            const bool json = target.ends_with(".json");
            const std::string body = json ? socket_table_json(*rows) : socket_table_text(*rows);
            const std::string_view type = json ? "application/json" : "text/plain; charset=utf-8";
            co_return co_await send_text(p, conn, req, type, body);
        }
    }
    co_return co_await send_error(p, conn, 404, req.keep_alive);
}

// Answers one parsed request; false when the connection must close.
task<bool> respond(process& p, handle conn, const http::request& req, server_state& st,
                   bool admin) {
    bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only)
        co_return co_await send_error(p, conn, 405, req.keep_alive);
    auto target = req.target.substr(0, req.target.find('?'));
    if (admin) co_return co_await respond_admin(p, conn, req, target, st);
    if (target == "/hello") {
        std::string out = http::response_head(200, hello_body.size(), "text/plain; charset=utf-8",
                                              req.keep_alive);
        if (!head_only) out += hello_body;
        co_return (co_await write_text(p, conn, out)).has_value() && req.keep_alive;
    }
    if (st.cfg.root.empty()) co_return co_await send_error(p, conn, 404, req.keep_alive);
    auto file = http::resolve_relative(req.target);
    if (!file) co_return co_await send_error(p, conn, 400, req.keep_alive); // "..", NUL, not a path
    co_return co_await serve_file(p, conn, *file, req, st);
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

task<void> http_session(process& p, handle conn, server_state& st, bool admin) {
    std::string in;
    std::vector<std::byte> buf(16384);
    time_point head_started{}; // when the first byte of the request being read came
    for (bool open = true; open;) {
        auto r = http::parse_request(in);
        if (r.status == http::parse_status::complete) {
            if (!admin) ++st.requests; // scrapes of the admin port are not traffic
            if (st.cfg.log) fmt::print("{} {}\n", r.req.method, r.req.target);
            open = co_await respond(p, conn, r.req, st, admin);
            in.erase(0, r.consumed);
            continue;
        }
        if (r.status == http::parse_status::error) {
            (void)co_await write_text(p, conn, http::error_response(r.error_status, false));
            break;
        }
        const bool idle = in.empty();
        const time_point deadline = idle ? scheduler::current().now() + st.cfg.idle_timeout
                                         : head_started + st.cfg.header_timeout;
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
    if (!admin) --st.connections;
}

std::string httpd_metrics(const server_state& st) {
    std::string out;
    auto metric = [&out](std::string_view name, std::uint64_t value, bool gauge = false) {
        out += fmt::format("# TYPE coronet_httpd_{0} {1}\ncoronet_httpd_{0} {2}\n", name,
                           gauge ? "gauge" : "counter", value);
    };
    const auto& c = st.cache.stats();
    metric("connections", st.connections, true);
    metric("accepted", st.accepted);
    metric("requests", st.requests);
    metric("idle_timeouts", st.idle_timeouts);
    metric("header_timeouts", st.header_timeouts);
    metric("files_sent", st.files_sent);
    metric("file_bytes_sent", st.file_bytes_sent);
    metric("file_buffer_waits", st.buffer_waits);
    metric("file_buffers_in_use", st.files.in_use(), true);
    metric("cache_hits", c.hits);
    metric("cache_misses", c.misses);
    metric("cache_invalidations", c.invalidations);
    metric("cache_evictions", c.evictions);
    metric("cache_entries", c.entries, true);
    metric("cache_bytes", c.bytes, true);
    return out;
}

namespace {

// The operators' listener: each connection an admin session, none refused for max_connections.
task<void> serve_admin(process& p, server_state& st) {
    auto ls = co_await p.listen({ipv4_any, st.cfg.admin_port}, {.backlog = 16});
    if (!ls) {
        fmt::print(stderr, "listen on admin port {}: {}\n", st.cfg.admin_port, ls.message());
        co_return;
    }
    for (;;) {
        auto conn = co_await p.accept(*ls);
        if (!conn) {
            if (conn.error() == ECANCELED || conn.error() == EBADF) co_return;
            continue;
        }
        p.spawn(http_session(p, *conn, st, true));
    }
}

} // namespace

task<void> http_serve(process& p, server_state& st) {
    if (st.cfg.admin_port != 0 && st.admin) p.spawn(serve_admin(p, st));
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
        ++st.accepted;
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
