#include "examples/kv/kv_server.hpp"

#include "framework/process/stream_reader.hpp"
#include "framework/process/stream_writer.hpp"

#include <algorithm>
#include <array>
#include <memory>

namespace coronet::kv {

const std::string* store::find(const std::string& key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
}

bool store::set(const std::string& key, std::string value) {
    const auto it = map_.find(key);
    const std::size_t old = it == map_.end() ? 0 : key.size() + it->second.size();
    const std::size_t now = key.size() + value.size();
    if (bytes_ - old + now > max_bytes_) return false;
    bytes_ = bytes_ - old + now;
    if (it == map_.end())
        map_.emplace(key, std::move(value));
    else
        it->second = std::move(value);
    return true;
}

bool store::erase(const std::string& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return false;
    bytes_ -= key.size() + it->second.size();
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

// One request (its line in `line`, its data still unread), answered into `out`. False when
// the connection must close.
task<bool> handle_request(server& srv, store& st, std::string_view line, stream_reader& in,
                          stream_writer& out) {
    ++srv.requests;
    auto refuse = [&](const refusal& r) -> task<bool> {
        ++srv.errors;
        auto w = co_await out.write(format_error(r));
        co_return w && !r.closes;
    };
    auto pr = parse_request(line, srv.cfg.max_value);
    if (!pr.req) {
        if (pr.skip > 0) {
            auto data = co_await in.read_exactly(pr.skip);
            if (!data) co_return false;
            if (text(*data).back() != '\n') co_return co_await refuse(bad_data_chunk);
        }
        co_return co_await refuse(pr.why);
    }
    const request& rq = *pr.req;
    switch (rq.op) {
    case command::get: {
        const std::string* v = st.find(rq.key);
        if (v == nullptr) co_return static_cast<bool>(co_await out.write("NOT_FOUND\n"));
        const auto head = "VALUE " + std::to_string(v->size()) + "\n";
        // The value is copied into the writer before anything can change the store.
        if (!co_await out.write(head) || !co_await out.write(*v)) co_return false;
        co_return static_cast<bool>(co_await out.write("\n"));
    }
    case command::set: {
        auto data = co_await in.read_exactly(rq.length + 1);
        if (!data) co_return false;
        const auto value = text(*data);
        if (value.back() != '\n') co_return co_await refuse(bad_data_chunk);
        if (!st.set(rq.key, std::string(value.substr(0, rq.length))))
            co_return co_await refuse(store_full);
        co_return static_cast<bool>(co_await out.write("STORED\n"));
    }
    case command::del:
        co_return static_cast<bool>(
            co_await out.write(st.erase(rq.key) ? "DELETED\n" : "NOT_FOUND\n"));
    }
    co_return false;
}

task<> session(process& p, server& srv, std::shared_ptr<store> st, unique_handle conn) {
    ++srv.connections;
    struct leave {
        server& s;
        ~leave() { --s.connections; }
    } on_exit{srv};
    stream_writer out(p, conn, srv.replies);
    if (srv.connections > srv.cfg.max_connections) {
        ++srv.refused;
        if (co_await out.write(format_error(too_many_connections)) && co_await out.flush())
            co_await linger_close(p, srv.cfg, conn);
        co_return;
    }
    const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(srv.cfg.idle_timeout);
    (void)p.set_socket_option(conn, socket_option::receive_timeout, idle.count());
    // A SET's data and LF, or a line of at most max_line bytes: the reader never holds more.
    stream_reader in(p, conn, std::max(max_line, srv.cfg.max_value + 1));
    for (;;) {
        auto line = co_await in.read_until("\n");
        bool keep = false;
        if (line) {
            keep = co_await handle_request(srv, *st, text(*line), in, out);
        } else if (line.error() == EMSGSIZE) {
            ++srv.requests;
            ++srv.errors;
            (void)co_await out.write(format_error(line_too_long));
        } else {
            if (line.error() == EAGAIN) ++srv.idle_closed;
            break; // the peer closed, reset, or idled: nothing to answer
        }
        // Replies gather while pipelined requests are already here; the last one sends them.
        if (!keep || in.buffered().empty()) {
            if (!co_await out.flush()) co_return;
        }
        if (!keep) {
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
