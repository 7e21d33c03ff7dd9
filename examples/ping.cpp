// coronet-ping: without a target, a ping responder (the native stack answers ICMP echo by
// itself: this just keeps it running); with one, a ping client that prints round trips
// the way ping(8) does.
//
//   coronet-ping --tap ctap0 --ip 10.0.0.2/24                  # then: ping 10.0.0.2
//   coronet-ping --tap ctap0 --ip 10.0.0.2/24 10.0.0.1 --count 5
#include "examples/common/options.hpp"
#include "framework/coronet.hpp"
#include "protocols/stack/native_stack.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct ping_options {
    std::string target;
    int count = 4;         // 0: until interrupted
    std::size_t size = 56; // ICMP data bytes
    double interval = 1.0; // seconds between requests
    double timeout = 1.0;  // seconds to wait for each reply
};

task<void> client(server_context& ctx, const ping_options& o, ipv4_address target) {
    auto& stack = *ctx.native;
    fmt::print("PING {} {}({}) bytes of data.\n", o.target, o.size, o.size + 28);
    int sent = 0, received = 0;
    double min = 1e300, max = 0, sum = 0, sum2 = 0;
    auto started = ctx.sched.now();
    for (int seq = 1; o.count == 0 || seq <= o.count; ++seq) {
        if (seq > 1)
            (void)co_await sleep_for(
                std::chrono::duration_cast<duration>(std::chrono::duration<double>(o.interval)));
        ++sent;
        auto rtt = co_await stack.ping(
            target, o.size,
            std::chrono::duration_cast<duration>(std::chrono::duration<double>(o.timeout)));
        if (!rtt) {
            if (rtt.error() == ECANCELED) break;
            fmt::print("From {} icmp_seq={} {}\n", o.target, seq, rtt.message());
            continue;
        }
        double ms = std::chrono::duration<double, std::milli>(*rtt).count();
        ++received;
        min = std::min(min, ms);
        max = std::max(max, ms);
        sum += ms;
        sum2 += ms * ms;
        fmt::print("{} bytes from {}: icmp_seq={} time={:.3f} ms\n", o.size + 8, o.target, seq, ms);
    }
    auto total = std::chrono::duration<double, std::milli>(ctx.sched.now() - started).count();
    fmt::print("\n--- {} ping statistics ---\n", o.target);
    fmt::print("{} packets transmitted, {} received, {:.0f}% packet loss, time {:.0f}ms\n", sent,
               received, sent ? 100.0 * (sent - received) / sent : 0.0, total);
    if (received) {
        double avg = sum / received;
        fmt::print("rtt min/avg/max/mdev = {:.3f}/{:.3f}/{:.3f}/{:.3f} ms\n", min, avg, max,
                   std::sqrt(std::max(0.0, sum2 / received - avg * avg)));
    }
    ctx.exit_code = received == sent ? 0 : 1;
}

task<void> responder(server_context& ctx) {
    fmt::print("answering pings at {} (Ctrl-C to stop)\n",
               to_string(ctx.options.address.address()));
    auto ev = ctx.proc.create_event().get();
    (void)co_await ctx.proc.wait(*ev); // until the process is told to end
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"coronet-ping: ICMP echo responder (no target) or client (a target)"};
    stack_options opts;
    examples::add_stack_options(app, opts);
    ping_options o;
    app.add_option("target", o.target, "address to ping; without one, just answer pings")
        ->check([](const std::string& s) {
            return ipv4_address::parse(s) ? "" : "'" + s + "' is not an IPv4 address";
        });
    app.add_option("--count,-c", o.count, "echo requests to send; 0: until interrupted (default 4)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--size,-s", o.size, "ICMP data bytes per request (default 56)")
        ->check(CLI::Range(0, 65507));
    app.add_option("--interval,-i", o.interval, "seconds between requests (default 1)")
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--timeout,-W", o.timeout, "seconds to wait for a reply (default 1)")
        ->check(CLI::Range(0.001, 3600.0));
    examples::parse_or_exit(app, argc, argv);
    if (opts.stack == stack_kind::host) {
        fmt::print(stderr, "coronet-ping: the host stack has no ICMP sockets here; use ping(8), or "
                           "--stack native\n");
        return 2;
    }
    opts.process_name = "ping";
    return run_server(opts, [&o](server_context& ctx) -> task<void> {
        if (o.target.empty()) return responder(ctx);
        return client(ctx, o, *ipv4_address::parse(o.target));
    });
}
