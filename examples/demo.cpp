// coronet-demo: coronet's native stack at work.
//
//   coronet-demo          two simulated hosts in this process, on an in-memory wire and
//                         virtual time (no root needed): HTTP from one to the other once
//                         native TCP is in, until then ping and UDP echo; then the counters
//                         of every layer on the path.
//   coronet-demo --tap    (root, /dev/net/tun) the native stack on a TAP device in a private
//                         network namespace; the Linux kernel pings it (and curls it once
//                         TCP is in).
//   coronet-demo --tour   the kernel core: processes, handles, virtual time, io_uring.
#include "examples/common/http.hpp"
#include "examples/common/http_server.hpp"
#include "examples/common/options.hpp"
#include "examples/common/tour.hpp"
#include "framework/coronet.hpp"
#include "protocols/sim/world.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace coronet;
using namespace coronet::examples;
using namespace std::chrono_literals;

namespace {

struct demo_options {
    std::uint64_t seed = 1;
    double loss = 0.0;
    int requests = 100;
    std::size_t big_bytes = 4 << 20;
    std::string pcap;
    bool trace = false;
    bool udp = false; // ping and UDP echo even when TCP is there
    bool offload = false; // NICs with checksum offload and TSO (passed whole by the wire)
};

double ms(duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The counters of a host that moved, one "layer.name value" per line, indented.
void print_counters(const std::string& title, const std::string& dump) {
    fmt::print("  {}:\n", title);
    std::istringstream in(dump);
    for (std::string line; std::getline(in, line);)
        if (!line.ends_with(" 0")) fmt::print("    {}\n", line);
}

// --- the simulated network ---

bool has_tcp(native::native_stack& s) { return s.socket(socket_type::stream).has_value(); }

// Ping, then UDP datagrams of several sizes (some need fragments) echoed back.
void udp_demo(sim::world& w, sim::host& server, sim::host& client, ipv4_address server_ip) {
    fmt::print("== ping {} from client (virtual time)\n", to_string(server_ip));
    for (int i = 1; i <= 4; ++i) {
        auto rtt = w.run(client.stack().ping(server_ip, 56));
        if (rtt)
            fmt::print("  64 bytes from {}: icmp_seq={} time={:.3f} ms\n", to_string(server_ip), i,
                       ms(*rtt));
        else
            fmt::print("  icmp_seq={}: {}\n", i, rtt.message());
    }

    auto sp = server.create_process("udp-echo");
    sp->spawn([&]() -> task<void> {
        auto s = co_await sp->socket(socket_type::datagram);
        (void)co_await sp->bind(*s, {ipv4_any, 7});
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto d = co_await sp->recv_from(*s, buf);
            if (!d) co_return;
            (void)co_await sp->send_to(*s, std::span(buf).first(d->size), d->from);
        }
    });
    fmt::print("== UDP echo: client -> {}:7 and back\n", to_string(server_ip));
    auto cp = client.create_process("udp-client");
    const std::size_t sizes[] = {64, 512, 1472, 4000, 9000, 30000};
    std::size_t echoed = 0, bytes = 0, rounds = 20;
    auto started = w.now();
    auto wall = std::chrono::steady_clock::now();
    w.run(as_task([&]() -> task<void> {
        auto s = co_await cp->socket(socket_type::datagram);
        std::vector<std::byte> out(65536), in(65536);
        for (std::size_t round = 0; round < rounds; ++round) {
            for (auto n : sizes) {
                for (std::size_t i = 0; i < n; ++i)
                    out[i] = static_cast<std::byte>(i * 7 + round);
                (void)co_await cp->send_to(*s, std::span(out).first(n), {server_ip, 7});
                auto got = co_await when_any(cp->recv_from(*s, in),
                                             []() -> task<void> { (void)co_await sleep_for(200ms); }());
                if (got.index() != 0) continue; // lost (with --loss): the next one
                auto d = std::get<0>(std::move(got));
                if (d && d->size == n && std::memcmp(in.data(), out.data(), n) == 0) {
                    ++echoed;
                    bytes += n;
                }
            }
        }
        (void)co_await cp->close(*s);
    }));
    fmt::print("  {} of {} datagrams ({} to {} bytes) came back intact, {} bytes, in {:.3f} ms of "
               "virtual time "
               "({:.3f} ms wall)\n",
               echoed, rounds * std::size(sizes), sizes[0], sizes[std::size(sizes) - 1], bytes,
               ms(w.now() - started), ms(std::chrono::steady_clock::now() - wall));
    sp->terminate("demo over");
    w.run(sp->join());
    if (!has_tcp(server.stack()))
        fmt::print("  (HTTP comes with native TCP: once it lands, this demo serves HTTP between "
                   "the hosts)\n");
}

// Reads one HTTP response (head, then Content-Length bytes) off `conn`; the body's size.
task<result<std::size_t>> read_response(process& p, handle conn, std::string& pending) {
    std::vector<std::byte> buf(65536);
    auto more = [&]() -> task<result<>> {
        auto n = co_await p.read(conn, buf);
        if (!n) co_return error{n.error()};
        if (*n == 0) co_return error{ENODATA};
        pending.append(reinterpret_cast<const char*>(buf.data()), *n);
        co_return result<>{};
    };
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos)
        if (auto r = co_await more(); !r) co_return error{r.error()};
    auto at = pending.find("Content-Length: ");
    std::size_t length = at < end ? std::stoul(pending.substr(at + 16)) : 0;
    while (pending.size() < end + 4 + length)
        if (auto r = co_await more(); !r) co_return error{r.error()};
    pending.erase(0, end + 4 + length);
    co_return length;
}

void http_demo(sim::world& w, sim::host& server, sim::host& client, ipv4_address server_ip,
               const demo_options& o) {
    auto root = std::filesystem::temp_directory_path() / fmt::format("coronet-demo-{}", ::getpid());
    std::filesystem::create_directories(root);
    {
        std::ofstream f(root / "big.bin", std::ios::binary);
        std::string chunk(o.big_bytes, 'x');
        f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    httpd_config cfg{.port = 80, .root = root.string()};
    server_state st{cfg};
    auto sp = server.create_process("httpd");
    sp->spawn(http_serve(*sp, st));
    auto cp = client.create_process("http-client");
    fmt::print("== HTTP/1.1: client -> {}:80, {} keep-alive requests for /hello, then /big.bin ({} "
               "bytes)\n",
               to_string(server_ip), o.requests, o.big_bytes);
    auto wall = std::chrono::steady_clock::now();
    w.run(as_task([&]() -> task<void> {
        auto conn = co_await cp->connect({server_ip, 80});
        if (!conn) {
            fmt::print("  connect: {}\n", conn.message());
            co_return;
        }
        std::string pending;
        auto t0 = w.now();
        int ok = 0;
        const std::string req = "GET /hello HTTP/1.1\r\nHost: server\r\n\r\n";
        for (int i = 0; i < o.requests; ++i) {
            if (!co_await cp->write_all(*conn, std::as_bytes(std::span(req)))) break;
            auto r = co_await read_response(*cp, *conn, pending);
            if (!r) {
                fmt::print("  request {}: {}\n", i, r.message());
                break;
            }
            ok += *r == hello_body.size();
        }
        auto t1 = w.now();
        fmt::print("  {} responses of {} bytes, {:.3f} ms per request (virtual)\n", ok,
                   hello_body.size(), ms(t1 - t0) / std::max(ok, 1));
        const std::string big =
            "GET /big.bin HTTP/1.1\r\nHost: server\r\nConnection: close\r\n\r\n";
        (void)co_await cp->write_all(*conn, std::as_bytes(std::span(big)));
        auto r = co_await read_response(*cp, *conn, pending);
        auto t2 = w.now();
        if (r)
            fmt::print(
                "  /big.bin: {} bytes in {:.3f} ms virtual: {:.1f} Mbit/s\n", *r, ms(t2 - t1),
                static_cast<double>(*r) * 8 / std::chrono::duration<double>(t2 - t1).count() / 1e6);
        else
            fmt::print("  /big.bin: {}\n", r.message());
        (void)co_await cp->close(*conn);
    }));
    fmt::print("  server counted {} requests; {:.3f} ms of wall time\n", st.requests,
               ms(std::chrono::steady_clock::now() - wall));
    sp->terminate("demo over");
    w.run(sp->join());
    // The server's file buffers die with `st`: let TCP have the last bytes acknowledged first.
    st.cache.clear();
    w.run_until([&st] { return st.files.in_use() == 0 && st.heads.in_use() == 0; },
                std::chrono::minutes(5));
    std::filesystem::remove_all(root);
}

int simulated(const demo_options& o) {
    sim::world w({.seed = o.seed});
    auto& server = w.add_host("server");
    auto& client = w.add_host("client");
    auto& link =
        w.add_wire({.latency = 100us, .bandwidth_bps = 1'000'000'000, .faults = {.loss = o.loss}});
    auto server_ip = ipv4_address(10, 0, 0, 1);
    const nic_features features =
        o.offload ? nic_features{.tx_checksum_offload = true, .tso = true, .rx_gso = true}
                  : nic_features{};
    auto& server_nic = w.connect(server, link, ipv4_prefix(server_ip, 24), 1500, features);
    w.connect(client, link, ipv4_prefix(ipv4_address(10, 0, 0, 2), 24), 1500, features);
    if (!o.pcap.empty()) w.capture(server_nic, o.pcap);
    if (o.trace)
        client.stack().set_trace([](std::string_view l) { fmt::print("  trace client: {}\n", l); });
    fmt::print("two simulated hosts: client 10.0.0.2 -- wire (1 Gbit/s, 100 us, loss {}) -- server "
               "10.0.0.1, seed {}{}\n",
               o.loss, o.seed, o.offload ? ", NIC offloads (checksum, TSO)" : "");
    if (has_tcp(server.stack()) && !o.udp)
        http_demo(w, server, client, server_ip, o);
    else
        udp_demo(w, server, client, server_ip);
    fmt::print("== counters along the path (non-zero)\n");
    print_counters("client", client.counters_text());
    print_counters("server", server.counters_text());
    if (!o.pcap.empty())
        fmt::print("capture of the server's NIC: {} (tshark -r {})\n", o.pcap, o.pcap);
    return 0;
}

// --- the TAP device, the Linux kernel on the other side ---

std::string enter_private_netns() {
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        return std::string("/dev/net/tun: ") + std::strerror(errno);
    if (::unshare(CLONE_NEWNET) != 0)
        return std::string("unshare(CLONE_NEWNET) (needs root): ") + std::strerror(errno);
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    bool ok = s >= 0 && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    if (s >= 0) ::close(s);
    return ok ? "" : "bringing lo up failed";
}

// Runs a command to its end without blocking the loop; its exit status (-1: not started).
task<int> run_command(std::vector<std::string> argv) {
    fmt::print("$ {}\n", fmt::join(argv, " "));
    std::fflush(stdout);
    std::vector<char*> raw;
    for (auto& a : argv)
        raw.push_back(a.data());
    raw.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawnp(&pid, raw[0], nullptr, nullptr, raw.data(), environ) != 0) co_return -1;
    for (;;) {
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) == pid) co_return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        (void)co_await sleep_for(20ms);
    }
}

int on_tap(const demo_options& o) {
    if (auto why = enter_private_netns(); !why.empty()) {
        fmt::print(stderr, "coronet-demo --tap: {}\n", why);
        return 1;
    }
    stack_options opts;
    opts.tap = "demo0";
    opts.address = ipv4_prefix(ipv4_address(10, 0, 0, 2), 24);
    opts.kernel_address = ipv4_prefix(ipv4_address(10, 0, 0, 1), 24);
    opts.pcap = o.pcap;
    opts.seed = o.seed;
    opts.trace = o.trace;
    opts.faults.loss = o.loss;
    opts.stop_on_signals = false; // the children must get their signals
    opts.process_name = "demo";
    fmt::print("a private network namespace: the kernel is 10.0.0.1 on TAP device demo0, coronet "
               "is 10.0.0.2\n");
    return run_server(opts, [&o](server_context& ctx) -> task<void> {
        int failures = 0;
        // (Named vectors: g++ 12 cannot hold a braced list across a co_await.)
        std::vector<std::string> ping = {"ping", "-c", "5", "-i", "0.2", "10.0.0.2"};
        std::vector<std::string> curl = {"curl", "-sS", "--max-time", "5", "http://10.0.0.2/hello"};
        std::vector<std::string> neigh = {"ip", "neigh", "show", "dev", "demo0"};
        failures += co_await run_command(ping) != 0;
        httpd_config cfg{.port = 80, .root = {}};
        server_state st{cfg};
        if (has_tcp(*ctx.native)) {
            ctx.proc.spawn(http_serve(ctx.proc, st));
            failures += co_await run_command(curl) != 0;
        } else {
            fmt::print("(curl comes with native TCP)\n");
        }
        (void)co_await run_command(neigh);
        fmt::print("== coronet's counters (non-zero)\n");
        print_counters("native stack on demo0", ctx.counters.dump());
        (void)o;
        ctx.finish(failures ? 1 : 0);
    });
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"coronet-demo: two simulated hosts talking through coronet's native stack"};
    demo_options o;
    tour_options tour;
    bool tap = false, show_tour = false;
    app.add_flag("--tap", tap, "run on a TAP device in a private network namespace (root)");
    app.add_flag("--tour", show_tour, "the tour of the kernel core instead");
    app.add_option("--seed", o.seed, "seed of the simulation (default 1)");
    app.add_option("--loss", o.loss, "loss probability on the wire")->check(CLI::Range(0.0, 0.5));
    app.add_option("--requests", o.requests, "HTTP keep-alive requests (default 100)")
        ->check(CLI::Range(1, 1000000));
    app.add_option("--pcap", o.pcap, "capture the server's frames to this pcap file");
    app.add_flag("--trace", o.trace, "one line per packet per layer");
    app.add_flag("--udp", o.udp, "ping and UDP echo instead of HTTP");
    app.add_flag("--offload", o.offload,
                 "NICs that offload checksums and TCP segmentation: 64 KiB segments cross the "
                 "wire whole unless --loss cuts them");
    app.add_option("--items", tour.items, "--tour: items the producer makes")
        ->check(CLI::Range(1, 100000));
    app.add_option("--minutes", tour.simulated_minutes,
                   "--tour: simulated minutes the production takes")
        ->check(CLI::Range(1, 100000));
    parse_or_exit(app, argc, argv);
    if (show_tour) {
        processes_and_handles(tour);
        io_uring_tour();
        return 0;
    }
    return tap ? on_tap(o) : simulated(o);
}
