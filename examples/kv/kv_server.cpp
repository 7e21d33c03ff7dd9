#include "examples/kv/kv_server.hpp"

#include "framework/process/stream_reader.hpp"
#include "framework/process/stream_writer.hpp"

#include <algorithm>
#include <array>
#include <memory>

namespace coronet::kv {

std::shared_ptr<const std::string> store::find(const std::string& key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
}

bool store::set(const std::string& key, std::string value) {
    const auto it = map_.find(key);
    const std::size_t old = it == map_.end() ? 0 : key.size() + it->second->size();
    const std::size_t now = key.size() + value.size();
    if (bytes_ - old + now > max_bytes_) return false;
    bytes_ = bytes_ - old + now;
    auto v = std::make_shared<const std::string>(std::move(value));
    if (it == map_.end())
        map_.emplace(key, std::move(v));
    else
        it->second = std::move(v);
    return true;
}

bool store::erase(const std::string& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return false;
    bytes_ -= key.size() + it->second->size();
    map_.erase(it);
    return true;
}

namespace {

std::string_view text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// See "Closing after an error" in kv_server.hpp. The handle closes when `conn` goes.
task<> linger_close(process& p, const config& cfg, handle conn) {
    if (!p.shutdown(conn, shutdown_how::write)) co_return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.linger_timeout);
    (void)p.set_socket_option(conn, socket_option::receive_timeout, ms.count());
    std::array<std::byte, 4096> sink;
    for (std::size_t dropped = 0; dropped < cfg.linger_bytes;) {
        auto n = co_await p.read(conn, sink);
        if (!n || *n == 0) co_return;
        dropped += *n;
    }
}

// What a session does after a request; an error instead (the call's errno) when the
// connection failed (reset, closed, timed out): then it closes with nothing more sent.
enum class next : unsigned char {
    read_on,
    close, // after an error reply that ends the connection: flush it, then a lingering close
};

task<result<next>> written(task<result<>> write) {
    if (auto w = co_await std::move(write); !w) co_return error{w.error()};
    co_return next::read_on;
}

// One request (its line in `line`, its data still unread), answered into `out`.
task<result<next>> handle_request(server& srv, store& st, std::string_view line, stream_reader& in,
                                  stream_writer& out) {
    ++srv.requests;
    auto refuse = [&](const refusal& r) -> task<result<next>> {
        ++srv.errors;
        if (auto w = co_await out.write(format_error(r)); !w) co_return error{w.error()};
        co_return r.closes ? next::close : next::read_on;
    };
    auto pr = parse_request(line, srv.cfg.max_value);
    if (!pr.req) {
        if (pr.skip > 0) {
            auto data = co_await in.read_exactly(pr.skip);
            if (!data) co_return error{data.error()};
            if (text(*data).back() != '\n') co_return co_await refuse(bad_data_chunk);
        }
        co_return co_await refuse(pr.why);
    }
    const request& rq = *pr.req;
    switch (rq.op) {
    case command::get: {
        // A reference of our own: the writer may wait (for the socket, for a buffer) while
        // another session replaces or deletes the key.
        const auto v = st.find(rq.key);
        if (!v) co_return co_await written(out.write("NOT_FOUND\n"));
        if (auto w = co_await out.write("VALUE " + std::to_string(v->size()) + "\n"); !w)
            co_return error{w.error()};
        if (auto w = co_await out.write(*v); !w) co_return error{w.error()};
        co_return co_await written(out.write("\n"));
    }
    case command::set: {
        auto data = co_await in.read_exactly(rq.length + 1);
        if (!data) co_return error{data.error()};
        const auto value = text(*data);
        if (value.back() != '\n') co_return co_await refuse(bad_data_chunk);
        if (!st.set(rq.key, std::string(value.substr(0, rq.length))))
            co_return co_await refuse(store_full);
        co_return co_await written(out.write("STORED\n"));
    }
    case command::del:
        co_return co_await written(out.write(st.erase(rq.key) ? "DELETED\n" : "NOT_FOUND\n"));
    }
    co_return error{EINVAL};
}

void set_timeouts(process& p, handle conn, duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    (void)p.set_socket_option(conn, socket_option::receive_timeout, ms);
    (void)p.set_socket_option(conn, socket_option::send_timeout, ms);
}

task<> session(process& p, server& srv, std::shared_ptr<store> st, unique_handle conn) {
    ++srv.connections;
    struct leave {
        server& s;
        ~leave() { --s.connections; }
    } on_exit{srv};
    stream_writer out(p, conn, srv.replies);
    // Silent for idle_timeout, or not taking replies for as long: EAGAIN, and the session ends.
    set_timeouts(p, conn, srv.cfg.idle_timeout);
    if (srv.connections > srv.cfg.max_connections) {
        ++srv.refused;
        if (co_await out.write(format_error(too_many_connections)) && co_await out.flush())
            co_await linger_close(p, srv.cfg, conn);
        co_return;
    }
    // A SET's data and LF, or a line of at most max_line bytes: the reader never holds more.
    stream_reader in(p, conn, std::max(max_line, srv.cfg.max_value + 1));
    for (;;) {
        auto line = co_await in.read_until("\n");
        result<next> then = next::read_on;
        if (line) {
            then = co_await handle_request(srv, *st, text(*line), in, out);
        } else if (line.error() == EMSGSIZE) {
            ++srv.requests;
            ++srv.errors;
            then = co_await written(out.write(format_error(line_too_long)));
            if (then) then = next::close;
        } else {
            then = error{line.error()};
        }
        // Replies gather while pipelined requests are already here; the last one sends them.
        if (then && (*then == next::close || in.buffered().empty())) {
            if (auto f = co_await out.flush(); !f) then = error{f.error()};
        }
        if (!then) {
            // Silent, or not taking replies, for idle_timeout; else the peer closed or reset.
            if (then.error() == EAGAIN) ++srv.idle_closed;
            co_return;
        }
        if (*then == next::close) {
            co_await linger_close(p, srv.cfg, conn);
            co_return;
        }
    }
}

} // namespace

task<result<>> serve(process& p, server& srv) {
    if (srv.cfg.max_value > max_value) co_return error{EINVAL};
    auto ls = p.own(co_await p.listen({ipv4_any, port{srv.cfg.port}}, {.backlog = 1024}));
    if (!ls) co_return error{ls.error()};
    // Shared by the sessions, so it lives until the last of them ends with the process.
    auto st = std::make_shared<store>(srv.cfg.max_bytes);
    for (;;) {
        auto conn = p.own(co_await p.accept(*ls));
        if (!conn) co_return error{conn.error()};
        ++srv.accepted;
        p.spawn(session(p, srv, st, std::move(*conn)));
    }
}

} // namespace coronet::kv
