#include "examples/load/load.hpp"

#include "examples/common/pattern.hpp"
#include "examples/load/http_response.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/wait_queue.hpp"
#include "framework/when_all.hpp"
#include "framework/when_any.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace coronet::load {
namespace {

// Bytes read at a time, per connection: an HTTP head must fit (response_limits::max_head).
constexpr std::size_t read_buffer = 16384;
// Bytes a bulk connection reads or writes per call: as much as the kernel's loopback takes in
// a few 64 KiB GSO packets, so that the host stack's calls are few beside the bytes.
constexpr std::size_t bulk_chunk = 256 * 1024;

// One connection slot: the socket it holds now and the requests in flight on it.
struct connection {
    handle conn{};
    bool open = false;        // conn is ours to close
    bool failed = false;      // the socket was ended (an error or on purpose): both halves stop
    bool writer_done = false; // no more requests will be sent on this socket
    std::size_t budget = 0;   // requests this socket may still send (rate mode: 1)
    std::size_t prepaid = 0;  // requests taken from the total before connecting (rate mode)
    std::size_t outstanding = 0;
    time_point last_byte{}; // when the socket last made progress
    time_point connect_started{};
    std::vector<time_point> sent; // send times of the requests in flight, a ring
    std::size_t oldest = 0;
    wait_queue answered; // the writer waits here for room in the pipeline
    std::optional<response_stream> http;
    std::vector<std::byte> echo_buf; // echo, and bulk_send: what is read
    std::size_t echo_offset = 0; // into the message the next echoed byte belongs to
};

struct run_state {
    process& p;
    const load_config& cfg;
    load_stats& st;
    std::vector<std::byte> requests; // `pipeline` requests back to back; bulk_recv: the chunk
    std::size_t request_bytes = 0;
    std::vector<std::byte> message; // echo: one message, to compare the echo with
    std::uint64_t issued = 0;
    bool stopping = false; // the deadline passed: cancellations are not errors
    std::size_t open = 0;
    std::vector<std::unique_ptr<connection>> conns;

    bool exhausted() const noexcept {
        return stopping || (cfg.requests != 0 && issued >= cfg.requests);
    }
    // Up to `want` requests to start, from what remains of the total.
    std::size_t take(std::size_t want) noexcept {
        if (stopping) return 0;
        if (cfg.requests != 0) want = std::min<std::uint64_t>(want, cfg.requests - issued);
        issued += want;
        return want;
    }
};

time_point now() { return scheduler::current().now(); }

error_kind kind_of(int err) {
    switch (err) {
    case ECONNRESET:
    case EPIPE:
        return error_kind::reset;
    default:
        return error_kind::other;
    }
}

// Ends the socket: it is closed, which ends the other half's call (with ECANCELED or EBADF,
// which fail_call then ignores), and the writer stops waiting.
void end_socket(run_state& s, connection& c) {
    c.failed = true;
    if (c.open) {
        (void)s.p.close(c.conn);
        c.open = false;
    }
    c.answered.wake_all();
}

// The first error of a socket is counted, then the socket ends.
void fail(run_state& s, connection& c, error_kind k) {
    if (!c.failed && !s.stopping) ++s.st[k];
    end_socket(s, c);
}

// A call failed: the echo of end_socket, a cancellation (the run is ending: deadline,
// signal), or an error of its own.
void fail_call(run_state& s, connection& c, int err) {
    if (c.failed) return;
    if (err == ECANCELED)
        end_socket(s, c);
    else
        fail(s, c, kind_of(err));
}

void answered(run_state& s, connection& c) {
    const auto t = now();
    s.st.latency.record(static_cast<std::uint64_t>((t - c.sent[c.oldest]).count()));
    c.oldest = (c.oldest + 1) % c.sent.size();
    --c.outstanding;
    ++s.st.responses;
    c.answered.wake_one();
}

task<void> writer(run_state& s, connection& c) {
    for (;;) {
        if (c.failed) co_return;
        const std::size_t room = std::min(s.cfg.pipeline - c.outstanding, c.budget);
        std::size_t k = std::exchange(c.prepaid, 0);
        if (k == 0 && room > 0) k = s.take(room);
        if (k == 0) {
            if (s.exhausted() || c.budget == 0) {
                // Nothing more to send: the reader ends when the last answer is in, or now,
                // if none is awaited (its read ends with the socket).
                c.writer_done = true;
                if (c.outstanding == 0) end_socket(s, c);
                co_return;
            }
            if (!co_await c.answered.wait()) co_return; // cancelled
            continue;
        }
        const auto t = now();
        if (c.outstanding == 0) c.last_byte = t; // the timeout runs from here
        for (std::size_t i = 0; i < k; ++i)
            c.sent[(c.oldest + c.outstanding + i) % c.sent.size()] =
                s.cfg.rate_mode ? c.connect_started : t;
        c.outstanding += k;
        c.budget -= k;
        auto r = co_await s.p.write_all(c.conn, std::span(s.requests).first(k * s.request_bytes));
        if (!r) {
            fail_call(s, c, r.error());
            co_return;
        }
        s.st.bytes_sent += k * s.request_bytes;
    }
}

// Echoed bytes against the message sent; each message completed answers one request.
bool take_echo(run_state& s, connection& c, std::span<const std::byte> got) {
    const auto& msg = s.message;
    while (!got.empty()) {
        const std::size_t n = std::min(got.size(), msg.size() - c.echo_offset);
        if (c.outstanding == 0 || std::memcmp(got.data(), msg.data() + c.echo_offset, n) != 0)
            return false; // bytes nobody asked for, or not the ones sent
        c.echo_offset += n;
        got = got.subspan(n);
        if (c.echo_offset == msg.size()) {
            c.echo_offset = 0;
            answered(s, c);
        }
    }
    return true;
}

// HTTP responses out of the stream; false when the socket is to end (an error, or the
// server said it closes).
bool take_http(run_state& s, connection& c) {
    for (;;) {
        switch (c.http->next()) {
        case response_stream::event::need_more:
            return true;
        case response_stream::event::error:
            fail(s, c, error_kind::invalid_response);
            return false;
        case response_stream::event::response:
            break;
        }
        const auto& h = c.http->head();
        if (h.status < 200) continue; // interim (100 Continue): the real one follows
        if (c.outstanding == 0) {
            fail(s, c, error_kind::invalid_response); // a response to no request
            return false;
        }
        answered(s, c);
        if (h.status >= 400) ++s.st[error_kind::http_status];
        if (!h.keep_alive) {
            // The server closes after this one: what is still in flight is lost.
            if (c.outstanding > 0)
                fail(s, c, error_kind::closed);
            else
                end_socket(s, c); // not an error: another connection is opened
            return false;
        }
    }
}

task<void> reader(run_state& s, connection& c) {
    for (;;) {
        if (c.failed) co_return;
        if (c.outstanding == 0 && c.writer_done) co_return; // all answered
        std::span<std::byte> into =
            c.http ? std::as_writable_bytes(c.http->space()) : std::span(c.echo_buf);
        auto n = co_await s.p.read(c.conn, into);
        if (!n) {
            fail_call(s, c, n.error());
            co_return;
        }
        if (*n == 0) {
            const bool partial = c.http ? c.http->partial() : c.echo_offset != 0;
            if (partial)
                fail(s, c, error_kind::short_response);
            else if (c.outstanding > 0)
                fail(s, c, error_kind::closed);
            else
                end_socket(s, c); // closed while idle (its idle timeout): open another
            co_return;
        }
        c.last_byte = now();
        s.st.bytes_received += *n;
        if (c.http) {
            c.http->commit(*n);
            if (!take_http(s, c)) co_return;
        } else if (!take_echo(s, c, into.first(*n))) {
            fail(s, c, error_kind::invalid_response);
            co_return;
        }
    }
}

// Bulk, the server sending: read and count until the deadline cancels the read. The server's
// FIN during the run is an error (it stopped sending).
task<void> bulk_reader(run_state& s, connection& c) {
    for (;;) {
        auto n = co_await s.p.read(c.conn, c.echo_buf);
        if (!n) {
            fail_call(s, c, n.error());
            co_return;
        }
        if (*n == 0) {
            fail(s, c, error_kind::closed);
            co_return;
        }
        c.last_byte = now();
        s.st.bytes_received += *n;
    }
}

// Bulk, the server receiving: the same chunk again and again, until the deadline.
task<void> bulk_writer(run_state& s, connection& c) {
    for (;;) {
        auto r = co_await s.p.write_all(c.conn, s.requests);
        if (!r) {
            fail_call(s, c, r.error());
            co_return;
        }
        c.last_byte = now();
        s.st.bytes_sent += s.requests.size();
    }
}

// One connection slot for the whole run: connect, run the requests, and again after an error.
task<void> worker(run_state& s, connection& c) {
    for (;;) {
        if (s.exhausted()) co_return;
        if (s.cfg.rate_mode && s.take(1) == 0) co_return; // an attempt is one request
        c.connect_started = now();
        auto h = co_await s.p.connect(s.cfg.target);
        if (!h) {
            if (h.error() == ECANCELED) co_return;
            ++s.st[h.error() == ECONNREFUSED ? error_kind::connect_refused
                                             : error_kind::connect_failed];
            if (s.cfg.rate_mode) continue;
            co_return; // a server that refuses is not hammered
        }
        ++s.st.connects;
        ++s.open;
        c.conn = *h;
        c.open = true;
        c.failed = c.writer_done = false;
        c.outstanding = c.oldest = c.echo_offset = 0;
        c.last_byte = now();
        c.budget = s.cfg.rate_mode ? 1 : std::numeric_limits<std::size_t>::max();
        c.prepaid = s.cfg.rate_mode ? 1 : 0;
        if (c.http) c.http->reset();
        (void)s.p.set_socket_option(c.conn, socket_option::no_delay, 1);
        if (is_bulk(s.cfg.mode)) {
            c.outstanding = 1; // always waiting for progress: the ticker's timeout applies
            if (s.cfg.mode == load_mode::bulk_send)
                co_await bulk_reader(s, c);
            else
                co_await bulk_writer(s, c);
        } else {
            co_await when_all(reader(s, c), writer(s, c));
        }
        if (c.open) {
            (void)s.p.close(c.conn);
            c.open = false;
        }
        --s.open;
    }
}

task<void> all_workers(run_state& s) {
    std::vector<task<void>> ws;
    ws.reserve(s.conns.size());
    for (auto& c : s.conns)
        ws.push_back(worker(s, *c));
    co_await when_all(std::move(ws));
}

// Every tick: the deadline, the timeouts, the progress line. Ends at the deadline, which
// cancels the workers (when_any); with a request count it runs until they end.
task<void> ticker(run_state& s, time_point start,
                  const std::function<void(const progress&)>& on_progress) {
    const duration tick = std::min<duration>(std::chrono::milliseconds(100), s.cfg.timeout);
    time_point next_report = start + s.cfg.progress_every;
    for (;;) {
        if (!co_await s.p.sleep(tick)) co_return;
        const auto t = now();
        if ((s.cfg.requests == 0 || is_bulk(s.cfg.mode)) && t - start >= s.cfg.run_for) {
            s.stopping = true;
            co_return;
        }
        for (auto& c : s.conns)
            if (c->open && c->outstanding > 0 && t - c->last_byte >= s.cfg.timeout)
                fail(s, *c, error_kind::timeout);
        if (on_progress && s.cfg.progress_every.count() > 0 && t >= next_report) {
            next_report = next_report + s.cfg.progress_every;
            on_progress({.elapsed = t - start,
                         .responses = s.st.responses,
                         .errors = s.st.error_total(),
                         .bytes = s.st.bytes_sent + s.st.bytes_received,
                         .open = s.open});
        }
    }
}

std::vector<std::byte> repeated(std::string_view one, std::size_t times) {
    std::vector<std::byte> out;
    out.reserve(one.size() * times);
    for (std::size_t i = 0; i < times; ++i)
        for (char ch : one)
            out.push_back(static_cast<std::byte>(ch));
    return out;
}

} // namespace

std::string_view name_of(load_mode m) noexcept {
    switch (m) {
    case load_mode::echo:
        return "echo";
    case load_mode::http:
        return "http";
    case load_mode::bulk_send:
        return "bulk-send";
    case load_mode::bulk_recv:
        return "bulk-recv";
    }
    return "?";
}

std::string_view name_of(error_kind k) noexcept {
    switch (k) {
    case error_kind::connect_refused:
        return "connect_refused";
    case error_kind::connect_failed:
        return "connect_failed";
    case error_kind::reset:
        return "reset";
    case error_kind::closed:
        return "closed";
    case error_kind::short_response:
        return "short_response";
    case error_kind::invalid_response:
        return "invalid_response";
    case error_kind::http_status:
        return "http_status";
    case error_kind::timeout:
        return "timeout";
    case error_kind::other:
        return "other";
    }
    return "?";
}

std::uint64_t load_stats::error_total() const noexcept {
    std::uint64_t n = 0;
    for (auto e : errors)
        n += e;
    return n;
}

int exit_code(const load_stats& s) noexcept {
    const bool done = s.bulk ? s.bytes_sent + s.bytes_received > 0 : s.responses > 0;
    return done && s.error_total() == 0 ? 0 : 1;
}

task<load_stats> run_load(process& p, const load_config& cfg,
                          std::function<void(const progress&)> on_progress) {
    load_stats st;
    st.bulk = is_bulk(cfg.mode);
    run_state s{.p = p, .cfg = cfg, .st = st, .requests = {}, .message = {}, .conns = {}};
    if (cfg.mode == load_mode::http) {
        const std::string req =
            fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n", cfg.path, to_string(cfg.target),
                        cfg.rate_mode ? "Connection: close\r\n" : "");
        s.requests = repeated(req, cfg.pipeline);
        s.request_bytes = req.size();
    } else if (cfg.mode == load_mode::bulk_recv) {
        s.requests.resize(bulk_chunk);
        examples::fill_pattern(s.requests, 0);
    } else if (cfg.mode == load_mode::echo) {
        s.message.resize(cfg.size);
        examples::fill_pattern(s.message, 0);
        s.requests.reserve(cfg.size * cfg.pipeline);
        for (std::size_t i = 0; i < cfg.pipeline; ++i)
            s.requests.insert(s.requests.end(), s.message.begin(), s.message.end());
        s.request_bytes = cfg.size;
    }
    for (std::size_t i = 0; i < cfg.connections; ++i) {
        auto c = std::make_unique<connection>();
        c->sent.resize(cfg.pipeline);
        if (cfg.mode == load_mode::echo)
            c->echo_buf.resize(read_buffer);
        else if (cfg.mode == load_mode::bulk_send)
            c->echo_buf.resize(bulk_chunk);
        else if (cfg.mode == load_mode::http)
            c->http.emplace(response_limits{}, read_buffer);
        s.conns.push_back(std::move(c));
    }
    const auto start = now();
    co_await when_any(all_workers(s), ticker(s, start, on_progress));
    st.elapsed = now() - start;
    co_return st;
}

} // namespace coronet::load
