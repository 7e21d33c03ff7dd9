// coronet-kv: an in-memory key-value store over TCP (examples/kv/kv_protocol.hpp has the
// protocol), and its client. Without --connect, the server; with it, one request.
//
//   coronet-kv --stack host --port 7070                          # the server
//   coronet-kv --stack host --connect 127.0.0.1:7070 set k v     # STORED
//   coronet-kv --stack host --connect 127.0.0.1:7070 get k       # v
//   printf 'GET k\n' | nc 127.0.0.1 7070                         # VALUE 1, v
#include "examples/common/options.hpp"
#include "examples/kv/kv_client.hpp"
#include "examples/kv/kv_server.hpp"
#include "framework/coronet.hpp"

#include <fmt/format.h>
#include <string>
#include <vector>

using namespace coronet;

namespace {

// One request of `words` (get KEY, set KEY VALUE, del KEY): 0 done, 1 a key not found or
// an error, 2 a usage error.
task<int> request(process& p, endpoint server, double timeout_s,
                  const std::vector<std::string>& words) {
    const bool usage = words.empty() || !((words[0] == "get" && words.size() == 2) ||
                                          (words[0] == "set" && words.size() == 3) ||
                                          (words[0] == "del" && words.size() == 2));
    if (usage) {
        fmt::print(stderr, "coronet-kv: give get KEY, set KEY VALUE or del KEY\n");
        co_return 2;
    }
    const auto timeout =
        std::chrono::duration_cast<duration>(std::chrono::duration<double>(timeout_s));
    auto c = co_await kv::client::connect(p, server, timeout);
    if (!c) {
        fmt::print(stderr, "coronet-kv: connect to {}: {}\n", to_string(server), c.message());
        co_return 1;
    }
    auto fail = [](const auto& r) {
        fmt::print(stderr, "coronet-kv: {}\n", r.message());
        return 1;
    };
    if (words[0] == "get") {
        auto v = co_await c->get(words[1]);
        if (!v) co_return fail(v);
        if (!*v) {
            fmt::print(stderr, "coronet-kv: {}: not found\n", words[1]);
            co_return 1;
        }
        fmt::print("{}\n", **v);
    } else if (words[0] == "set") {
        auto s = co_await c->set(words[1], words[2]);
        if (!s) co_return fail(s);
        fmt::print("STORED\n");
    } else {
        auto d = co_await c->del(words[1]);
        if (!d) co_return fail(d);
        fmt::print("{}\n", *d ? "DELETED" : "NOT_FOUND");
    }
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"coronet-kv: an in-memory key-value store (GET/SET/DEL over TCP) and its client"};
    stack_options opts;
    examples::add_stack_options(app, opts);
    kv::config cfg;
    std::string connect;
    double timeout = 5;
    std::vector<std::string> words;
    app.add_option("--port", cfg.port, "the server's TCP port (default 7070)");
    app.add_option("--max-bytes", cfg.max_bytes,
                   "bytes of keys and values the store holds (default 64 MiB)");
    app.add_option("--max-value", cfg.max_value, "largest value taken (default and at most 1 MiB)")
        ->check(CLI::Range(std::size_t{0}, kv::max_value));
    app.add_option("--max-connections", cfg.max_connections, "connections at once (default 1024)");
    app.add_option("--connect", connect, "be a client of the server at ADDR:PORT")
        ->check([](const std::string& s) {
            return endpoint::parse(s) ? "" : "'" + s + "' is not ADDR:PORT";
        });
    app.add_option("--timeout", timeout, "client: seconds to wait for the server (default 5)")
        ->check(CLI::Range(0.001, 3600.0));
    app.add_option("request", words, "client: get KEY | set KEY VALUE | del KEY");
    examples::parse_or_exit(app, argc, argv);
    opts.process_name = "kv";
    if (!connect.empty()) {
        const auto server = *endpoint::parse(connect);
        return run_server(opts, [&](server_context& ctx) -> task<void> {
            ctx.exit_code = co_await request(ctx.proc, server, timeout, words);
        });
    }
    if (!words.empty()) {
        fmt::print(stderr, "coronet-kv: a request needs --connect ADDR:PORT\n");
        return 2;
    }
    // Declared before the stack starts: its sockets hold the server's reply buffers.
    kv::server srv{.cfg = cfg};
    return run_server(opts, [&srv](process& p) -> task<void> {
        fmt::print("coronet-kv on port {}\n", srv.cfg.port);
        if (auto r = co_await kv::serve(p, srv); !r && r.error() != ECANCELED)
            fmt::print(stderr, "coronet-kv: {}\n", r.message());
    });
}
