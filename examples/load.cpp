// coronet-load: a load generator for echo and HTTP/1.1 servers, yours or coronet's. Many
// connections, a request count or a duration, pipelining, connection-rate mode, and bulk
// throughput one way or the other (bulk-send: the server sends; bulk-recv: it receives); it reports
// requests/s, bytes/s, the latency percentiles (p50 to p99.9 and max, within 1 %) and errors
// by kind, as text or JSON, with a progress line on stderr every second. It runs on the
// Linux kernel's sockets through io_uring (--stack host, the default) or on coronet's own
// TCP/IP over a TAP device (--stack native and the native flags).
//
//   coronet-load --connect 127.0.0.1:8080 --path /hello --connections 64 --duration 10
//   coronet-load --mode echo --connect 127.0.0.1:7 --size 16384 --requests 100000 --json
//   coronet-load --mode bulk-send --connect 10.0.4.2:5001 -c 1 -d 6   # coronet-bulk --mode source
//
// Exit status: 0 when responses came and no error, 1 otherwise, 2 for a wrong command line.
#include "examples/load/load.hpp"
#include "examples/common/options.hpp"
#include "examples/load/report.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace coronet;
using namespace coronet::load;

namespace {

// Enough descriptors for the connections (the soft limit is often 1,024, the hard far more).
void raise_descriptor_limit(std::size_t connections) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    const rlim_t want = connections + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = std::min(want, rl.rlim_max);
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
}

duration seconds_of(double s) {
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(s));
}

// A request target that fits a request line: origin-form, printable, no space.
std::string check_path(const std::string& p) {
    if (p.empty() || p[0] != '/') return "the path must begin with '/'";
    for (char c : p)
        if (c <= ' ' || c == 0x7f || c == '"' || c == '\\')
            return "the path may hold no space, control character, quote or backslash";
    return {};
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"coronet-load: echo and HTTP/1.1 load generator (runs on --stack host by "
                 "default)"};
    stack_options opts;
    opts.stack = stack_kind::host;
    examples::add_stack_options(app, opts);
    load_config cfg;
    std::string mode = "http", target;
    double run_for = 10, timeout = 10;
    bool json = false, quiet = false;
    app.add_option("--mode", mode,
                   "http (GET --path), echo (--size bytes, RFC 862), bulk-send (the server "
                   "sends, we read: coronet-bulk --mode source) or bulk-recv (we send)")
        ->check(CLI::IsMember({"http", "echo", "bulk-send", "bulk-recv"}));
    app.add_option("--connect", target, "the server, ADDR:PORT")
        ->required()
        ->check([](const std::string& s) {
            return endpoint::parse(s) ? "" : "'" + s + "' is not ADDR:PORT";
        });
    app.add_option("-c,--connections", cfg.connections, "connections at once (default 64)")
        ->check(CLI::Range(1, 1000000));
    auto* requests = app.add_option("-n,--requests", cfg.requests,
                                    "requests in all, then stop (default: run --duration)")
                         ->check(CLI::PositiveNumber);
    auto* duration_opt = app.add_option("-d,--duration", run_for, "seconds to run (default 10)")
                             ->check(CLI::PositiveNumber);
    requests->excludes(duration_opt);
    auto* pipeline =
        app.add_option("--pipeline", cfg.pipeline, "requests in flight per connection (default 1)")
            ->check(CLI::Range(1, 1024));
    app.add_option("--size", cfg.size, "echo: bytes per message (default 64)")
        ->check(CLI::Range(1, 1 << 24));
    app.add_option("--path", cfg.path, "http: the request target (default /)")->check(check_path);
    auto* rate = app.add_flag("--rate-mode", cfg.rate_mode,
                              "connect, one request, close, again: a connection rate");
    rate->excludes(pipeline);
    app.add_option("--timeout", timeout,
                   "seconds a connection may wait for its answers without a byte (default 10)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--json", json, "print the report as one JSON object on stdout");
    app.add_flag("-q,--quiet", quiet, "no progress line on stderr");
    examples::parse_or_exit(app, argc, argv);

    cfg.mode = mode == "echo"        ? load_mode::echo
               : mode == "bulk-send" ? load_mode::bulk_send
               : mode == "bulk-recv" ? load_mode::bulk_recv
                                     : load_mode::http;
    // A bulk run moves bytes for --duration: it has no requests to count or pipeline.
    if (is_bulk(cfg.mode) && (requests->count() > 0 || pipeline->count() > 0 || cfg.rate_mode)) {
        fmt::print(stderr, "coronet-load: --mode {} runs for --duration; it takes no --requests, "
                           "--pipeline or --rate-mode\n", mode);
        return 2;
    }
    cfg.target = *endpoint::parse(target);
    cfg.run_for = seconds_of(run_for);
    cfg.timeout = seconds_of(timeout);
    if (quiet) cfg.progress_every = duration::zero();
    raise_descriptor_limit(cfg.connections);

    const run_description desc{cfg, opts.stack == stack_kind::host ? "host" : "native"};
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    std::uint64_t last_responses = 0, last_bytes = 0;
    auto show = [&](const progress& p) {
        const auto line = progress_line(p, p.responses - last_responses, p.bytes - last_bytes,
                                        cfg.progress_every);
        last_responses = p.responses;
        last_bytes = p.bytes;
        // On a terminal the line is rewritten in place; in a log, one line a second.
        if (tty)
            fmt::print(stderr, "\r{}\x1b[K", line);
        else
            fmt::print(stderr, "{}\n", line);
    };
    opts.process_name = "load";
    opts.stop_on_signals = true;
    load_stats stats;
    int rc = run_server(opts, [&](server_context& ctx) -> task<void> {
        stats = co_await run_load(ctx.proc, cfg, show);
        ctx.exit_code = exit_code(stats);
    });
    if (tty && !quiet && stats.elapsed >= cfg.progress_every) fmt::print(stderr, "\n");
    fmt::print("{}", json ? json_report(desc, stats) : text_report(desc, stats));
    return rc == 0 ? exit_code(stats) : rc;
}
