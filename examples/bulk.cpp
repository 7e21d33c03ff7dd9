// coronet-bulk: a TCP source or sink for throughput. The source sends --bytes of a known
// pattern, the sink reads until the peer closes; both print the throughput and an FNV-1a
// hash of the bytes (over 64-bit words: examples/common/pattern.hpp), so the two ends can be
// compared.
//
// As a server for throughput runs (scripts/bench's bulk workloads, coronet-load --mode
// bulk-send / bulk-recv), --mode source and sink serve every connection at once until they
// are killed: the source writes one --chunk of the pattern again and again until the peer
// closes, the sink reads and drops. Nothing is generated, hashed or checked per byte there,
// so the CPU they use is the stack's; each connection's bytes are printed when it ends.
//
//   coronet-bulk --mode receive --listen 5001
//   coronet-bulk --mode send --connect 10.0.0.1:5001 --bytes 268435456
//   coronet-bulk --mode source --listen 5001 --tap tap0 --ip 10.0.4.2/24
#include "examples/common/options.hpp"
#include "examples/common/pattern.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <vector>

using namespace coronet;

namespace {

struct bulk_options {
    std::string mode = "receive";
    std::uint64_t bytes = 64 * 1024 * 1024;
    std::string connect;
    std::uint16_t listen = 0;
    std::size_t chunk = 65536;
};

void report(const char* what, std::uint64_t bytes, duration took, std::uint64_t hash) {
    double s = std::chrono::duration<double>(took).count();
    fmt::print("{} {} bytes in {:.3f} s: {:.1f} Mbit/s, fnv1a {:016x}\n", what, bytes, s,
               s > 0 ? static_cast<double>(bytes) * 8 / s / 1e6 : 0.0, hash);
}

task<result<>> send(process& p, handle conn, const bulk_options& o, server_context& ctx) {
    std::vector<std::byte> buf(o.chunk);
    examples::fnv1a hash;
    auto start = ctx.sched.now();
    for (std::uint64_t sent = 0; sent < o.bytes;) {
        auto n = std::min<std::uint64_t>(buf.size(), o.bytes - sent);
        auto piece = std::span(buf).first(n);
        examples::fill_pattern(piece, sent);
        hash.update(piece);
        if (auto r = co_await p.write_all(conn, piece); !r) co_return r;
        sent += n;
    }
    (void)p.shutdown(conn, shutdown_how::write).get();
    // Wait for the peer's close, so the bytes have arrived when we say they are sent.
    std::array<std::byte, 512> sink;
    while (true) {
        auto n = co_await p.read(conn, sink);
        if (!n || *n == 0) break;
    }
    report("sent", o.bytes, ctx.sched.now() - start, hash.value());
    co_return result<>{};
}

task<result<>> receive(process& p, handle conn, const bulk_options& o, server_context& ctx) {
    std::vector<std::byte> buf(o.chunk);
    examples::fnv1a hash;
    std::uint64_t got = 0, mismatches = 0;
    auto start = ctx.sched.now();
    for (;;) {
        auto n = co_await p.read(conn, buf);
        if (!n) co_return error{n.error()};
        if (*n == 0) break;
        auto piece = std::span(buf).first(*n);
        mismatches += examples::pattern_mismatches(piece, got);
        hash.update(piece);
        got += *n;
    }
    report("received", got, ctx.sched.now() - start, hash.value());
    if (mismatches) fmt::print("{} bytes differ from the pattern\n", mismatches);
    ctx.exit_code = mismatches ? 1 : 0;
    co_return result<>{};
}

// One connection of a source or sink server, until the peer closes (or resets: the end a
// source always meets, and not an error).
task<void> serve_one(process& p, handle conn, const bulk_options& o,
                     std::shared_ptr<const std::vector<std::byte>> chunk) {
    const bool source = o.mode == "source";
    std::vector<std::byte> buf(source ? 0 : o.chunk);
    std::uint64_t moved = 0;
    const auto start = scheduler::current().now();
    for (;;) {
        if (source) {
            if (!co_await p.write_all(conn, *chunk)) break;
            moved += chunk->size();
        } else {
            auto n = co_await p.read(conn, buf);
            if (!n || *n == 0) break;
            moved += *n;
        }
    }
    const double s = std::chrono::duration<double>(scheduler::current().now() - start).count();
    fmt::print("{}: {} bytes in {:.3f} s: {:.1f} Mbit/s\n", o.mode, moved, s,
               s > 0 ? static_cast<double>(moved) * 8 / s / 1e6 : 0.0);
    std::fflush(stdout);
    (void)co_await p.close(conn);
}

task<void> serve(process& p, handle listener, const bulk_options& o) {
    auto chunk = std::make_shared<std::vector<std::byte>>(o.chunk);
    examples::fill_pattern(*chunk, 0);
    for (;;) {
        auto conn = co_await p.accept(listener);
        if (!conn) {
            fmt::print(stderr, "accept: {}\n", conn.message());
            co_return;
        }
        (void)p.set_socket_option(*conn, socket_option::no_delay, 1);
        p.spawn(serve_one(p, *conn, o, chunk));
    }
}

task<void> run(server_context& ctx, const bulk_options& o) {
    auto& p = ctx.proc;
    result<handle> conn = error{EINVAL};
    if (!o.connect.empty()) {
        conn = co_await p.connect(*endpoint::parse(o.connect));
        if (!conn) {
            fmt::print(stderr, "connect to {}: {}\n", o.connect, conn.message());
            ctx.exit_code = 1;
            co_return;
        }
    } else {
        auto ls = co_await p.listen({ipv4_any, o.listen});
        if (!ls) {
            fmt::print(stderr, "listen on {}: {}\n", o.listen, ls.message());
            ctx.exit_code = 1;
            co_return;
        }
        fmt::print("listening on port {}\n", o.listen);
        std::fflush(stdout); // a script waiting for this line may read it from a file
        if (o.mode == "source" || o.mode == "sink") {
            co_await serve(p, *ls, o);
            ctx.exit_code = 1; // only a failed accept ends a server
            co_return;
        }
        conn = co_await p.accept(*ls);
        (void)co_await p.close(*ls);
        if (!conn) co_return;
    }
    auto r =
        o.mode == "send" ? co_await send(p, *conn, o, ctx) : co_await receive(p, *conn, o, ctx);
    if (!r) {
        fmt::print(stderr, "{}: {}\n", o.mode, r.message());
        ctx.exit_code = 1;
    }
    (void)co_await p.close(*conn);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"coronet-bulk: TCP bulk source/sink, throughput and a hash of the bytes"};
    stack_options opts;
    examples::add_stack_options(app, opts);
    bulk_options o;
    app.add_option("--mode", o.mode,
                   "send or receive (default receive), or as a server until killed (--listen), "
                   "source (the pattern to every connection) or sink (read and dropped)")
        ->check(CLI::IsMember({"send", "receive", "source", "sink"}));
    app.add_option("--bytes", o.bytes, "bytes to send (default 64 MiB)");
    auto* c = app.add_option("--connect", o.connect, "ADDR:PORT to connect to")
                  ->check([](const std::string& s) {
                      return endpoint::parse(s) ? "" : "'" + s + "' is not ADDR:PORT";
                  });
    auto* l = app.add_option("--listen", o.listen, "PORT to accept one connection on")
                  ->check(CLI::Range(1, 65535));
    c->excludes(l);
    app.add_option("--chunk", o.chunk, "bytes per read/write call (default 65536)")
        ->check(CLI::Range(1, 1 << 24));
    examples::parse_or_exit(app, argc, argv);
    if ((o.mode == "source" || o.mode == "sink") && o.listen == 0) {
        fmt::print(stderr, "coronet-bulk: --mode {} is a server: it needs --listen PORT\n",
                   o.mode);
        return 2;
    }
    if (o.connect.empty() && o.listen == 0) {
        fmt::print(stderr, "coronet-bulk: --connect ADDR:PORT or --listen PORT is needed\n\n{}",
                   app.help());
        return 2;
    }
    opts.process_name = "bulk";
    return run_server(opts, [&o](server_context& ctx) { return run(ctx, o); });
}
