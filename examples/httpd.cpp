// coronet-httpd: an HTTP/1.1 server with keep-alive and pipelining (the server itself is
// examples/common/http_server.cpp, shared with the demo). GET and HEAD of /hello answer a
// fixed in-memory response; other paths are files under --root. Other methods get 405,
// malformed requests 400, missing files 404, oversized headers 431; beyond
// --max-connections a new connection gets 503 and is closed. Files are read through io_uring
// in 64 KiB chunks and sent without a copy on the native stack; small ones are cached.
// --admin-port N serves /metrics (Prometheus), /counters and /connections for operators.
//
//   coronet-httpd --stack host --port 8080 --root ./www      # then: curl localhost:8080/hello
//   coronet-httpd --tap ctap0 --ip 10.0.0.2/24 --root ./www  # then: curl 10.0.0.2:8080/hello
#include "examples/common/http_server.hpp"
#include "examples/common/options.hpp"
#include "protocols/stack/native_stack.hpp"

#include <fmt/format.h>

using namespace coronet;
using namespace coronet::examples;

int main(int argc, char** argv) {
    CLI::App app{"coronet-httpd: HTTP/1.1 server (keep-alive, pipelining, static files)"};
    stack_options opts;
    examples::add_stack_options(app, opts);
    httpd_config cfg;
    app.add_option("--port", cfg.port, "TCP port (default 8080)");
    app.add_option("--root", cfg.root, "serve files from this directory")
        ->check(CLI::ExistingDirectory);
    app.add_option("--max-connections", cfg.max_connections,
                   "concurrent connections at most (default 10000)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--log", cfg.log, "print each request");
    app.add_option_function<double>(
           "--idle-timeout",
           [&cfg](double s) {
               cfg.idle_timeout =
                   std::chrono::duration_cast<duration>(std::chrono::duration<double>(s));
           },
           "close a connection silent this long between requests, in seconds (default 75)")
        ->check(CLI::PositiveNumber);
    app.add_option_function<double>(
           "--header-timeout",
           [&cfg](double s) {
               cfg.header_timeout =
                   std::chrono::duration_cast<duration>(std::chrono::duration<double>(s));
           },
           "answer 408 to a request whose head takes longer, in seconds (default 60)")
        ->check(CLI::PositiveNumber);
    app.add_option(
        "--cache-bytes", cfg.cache_bytes,
        "small-file cache: buffer bytes held at most, 0 for none (default 16 MiB; at most half "
        "the file buffers)");
    app.add_option("--cache-entry-bytes", cfg.cache_entry_bytes,
                   "files up to this size are cached, larger ones streamed (default 256 KiB)");
    app.add_option("--file-buffers", cfg.file_buffers, "64 KiB file buffers (default 1024)")
        ->check(CLI::Range(2u, 1u << 20));
    app.add_option("--admin-port", cfg.admin_port,
                   "serve GET /metrics (Prometheus text), /counters and /connections(.json) on "
                   "this port, for operators (default: none)")
        ->check(CLI::Range(1, 65535));
    examples::parse_or_exit(app, argc, argv);
    opts.process_name = "httpd";
    // One server per shard, each with its own buffers and cache (a shard touches nothing of
    // another's); made here because they must outlive the stacks they serve on.
    std::vector<std::unique_ptr<server_state>> states;
    for (unsigned i = 0; i < shard_count(opts); ++i)
        states.emplace_back(new server_state{cfg}); // clang 14 has no make_unique of an aggregate
    const server_main serve = [&states](server_context& ctx) {
        server_state& st = *states[ctx.shard_id];
        st.stack_counters = &ctx.counters;
        st.admin = ctx.shard_id == 0; // one admin port, served by shard 0
        return http_serve(ctx.proc, st);
    };
    const int rc = run_server(opts, serve);
    if (!cfg.root.empty()) {
        server_totals t;
        for (const auto& st : states)
            t.add(*st);
        fmt::print(
            "httpd: {} requests, {} files sent ({} bytes); cache: {} hits, {} misses, {} "
            "invalidations, {} evictions, {} too large, {} entries in {} bytes; {} buffer waits\n",
            t.requests, t.files_sent, t.file_bytes_sent, t.cache.hits, t.cache.misses,
            t.cache.invalidations, t.cache.evictions, t.cache.too_large, t.cache.entries,
            t.cache.bytes, t.buffer_waits);
    }
    // Each shard's share, to see how evenly the kernel (SO_REUSEPORT) or the TAP queues spread
    // connections; scripts/bench reads these lines.
    if (states.size() > 1)
        for (std::size_t i = 0; i < states.size(); ++i)
            fmt::print("httpd: shard {}: {} requests, {} connections accepted\n", i,
                       states[i]->requests, states[i]->accepted);
    return rc;
}
