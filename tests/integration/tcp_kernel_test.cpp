// coronet's native TCP against the Linux kernel's, over a TAP device in the test's own
// network namespace (kernel 10.0.0.1, coronet 10.0.0.2): the examples' HTTP server on the
// native stack answering curl (a 10 MiB file byte for byte, a second client served while a
// reader of that file has stopped reading, keep-alive) and wrk; bulk TCP both ways with kernel
// sockets, offloads on and off and under 1 % injected loss; and a capture of a TCP run on the
// kernel side that tshark finds clean. The 256 MiB transfers are in tcp_kernel_slow_test.cpp; the
// error cases in tcp_kernel_errors_test.cpp.
#include "drivers/tap/tap_nic.hpp"
#include "examples/common/http_server.hpp"
#include "framework/coronet.hpp"
#include "protocols/stack/launch.hpp"
#include "tests/integration/bulk_transfer.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

namespace {

const std::string base_url = "http://10.0.0.2:8080";

// A directory of files for the HTTP server, removed at the end.
struct temp_root {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("coronet-tcp-kernel-" + std::to_string(::getpid()));
    temp_root() { std::filesystem::create_directories(dir); }
    ~temp_root() { std::filesystem::remove_all(dir); }
    temp_root(const temp_root&) = delete;
    temp_root& operator=(const temp_root&) = delete;
};

// The native stack serves HTTP (examples/common/http_server) while `client` runs; the
// server's state (request count) and the run's exit code come back.
struct http_run {
    int rc = -1;
    std::uint64_t requests = 0;
    std::uint64_t passive_opens = 0;
};

http_run serve_http(const stack_options& opts, const std::string& root,
                    const std::function<task<void>()>& client) {
    http_run r;
    examples::httpd_config cfg;
    cfg.root = root;
    examples::server_state st{cfg};
    r.rc = run_server(opts, [&](server_context& ctx) -> task<void> {
        ctx.proc.spawn(examples::http_serve(ctx.proc, st));
        co_await client();
        r.requests = st.requests;
        r.passive_opens = ctx.counters.read("tcp.passive_opens").value_or(0);
        ctx.finish();
    });
    return r;
}

} // namespace

TEST_CASE("curl fetches a 10 MiB file from the native httpd, byte for byte") {
    CORONET_ENTER_NETNS();
    for (bool offload : {true, false}) {
        DYNAMIC_SECTION("offloads " << (offload ? "on" : "off")) {
            temp_root root;
            std::vector<std::byte> big(10 << 20);
            examples::fill_pattern(big, 7);
            std::ofstream(root.dir / "big.bin", std::ios::binary)
                .write(reinterpret_cast<const char*>(big.data()),
                       static_cast<std::streamsize>(big.size()));
            const std::string got = (root.dir / "got.bin").string();
            command_output curl;
            auto r = serve_http(test_stack(offload), root.dir.string(), [&]() -> task<void> {
                std::vector<std::string> argv = {"curl", "-sS",          "--max-time",
                                                 "60",   "-o",           got,
                                                 "-w",   "%{http_code}", base_url + "/big.bin"};
                curl = co_await run_async(argv, 90s);
            });
            CHECK(r.rc == 0);
            INFO(curl.err);
            CHECK(curl.status == 0);
            CHECK(curl.out == "200");
            std::string bytes = slurp(got);
            CHECK(bytes.size() == big.size());
            CHECK(std::memcmp(bytes.data(), big.data(), std::min(bytes.size(), big.size())) == 0);
        }
    }
}

TEST_CASE("a second curl gets a file from the native httpd while a 10 MiB file is still going "
          "out to a reader that has stopped reading") {
    CORONET_ENTER_NETNS();
    temp_root root;
    std::vector<std::byte> big(10 << 20);
    examples::fill_pattern(big, 3);
    std::ofstream(root.dir / "big.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(big.data()), static_cast<std::streamsize>(big.size()));
    std::ofstream(root.dir / "small.txt") << "small and quick\n";
    command_output quick;
    std::string response;             // what the stalled reader got, head and body
    std::size_t held_when_served = 0; // of it, read or waiting in its kernel, when curl ended
    bool paused = false, resumed = false;
    auto r = serve_http(test_stack(), root.dir.string(), [&]() -> task<void> {
        // The big file's reader takes its first MiB and stops; its window (64 KiB of receive
        // buffer) closes, so the rest stays with the server until it reads again. A rate limit
        // on curl cannot promise that: its --limit-rate let 10 MiB through in 2 s or less here.
        kernel_http_reader slow(8080, 64 << 10);
        if (!co_await slow.request("/big.bin")) co_return;
        paused = co_await slow.read_until(response, 1 << 20);
        std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10",
                                         base_url + "/small.txt"};
        quick = co_await run_async(argv, 20s);
        held_when_served = response.size() + static_cast<std::size_t>(slow.unread());
        const auto head_end = response.find("\r\n\r\n");
        if (head_end == std::string::npos) co_return;
        resumed = co_await slow.read_until(response, head_end + 4 + big.size());
    });
    CHECK(r.rc == 0);
    REQUIRE(paused);
    INFO(quick.err);
    CHECK(quick.status == 0);
    CHECK(quick.out == "small and quick\n");
    CHECK(held_when_served < big.size()); // the big file was still going out
    CHECK(resumed);
    const auto body_at = response.find("\r\n\r\n");
    REQUIRE(body_at != std::string::npos);
    CHECK(response.compare(0, 15, "HTTP/1.1 200 OK") == 0);
    const std::string_view body = std::string_view(response).substr(body_at + 4);
    CHECK(body.size() == big.size());
    CHECK(std::memcmp(body.data(), big.data(), std::min(body.size(), big.size())) == 0);
}

TEST_CASE("many requests on one keep-alive connection to the native httpd") {
    CORONET_ENTER_NETNS();
    constexpr int n = 20;
    command_output curl;
    auto r = serve_http(test_stack(), {}, [&]() -> task<void> {
        // Twenty URLs on one command line: curl reuses its connection for each.
        std::vector<std::string> argv = {"curl", "-sS", "--max-time",
                                         "30",   "-w",  "%{http_code} %{num_connects}\\n"};
        for (int i = 0; i < n; ++i) {
            argv.insert(argv.end(), {"-o", "/dev/null", base_url + "/hello"});
        }
        curl = co_await run_async(argv);
    });
    CHECK(r.rc == 0);
    INFO(curl.err);
    CHECK(curl.status == 0);
    std::string want = "200 1\n";
    for (int i = 1; i < n; ++i)
        want += "200 0\n"; // no new connection
    CHECK(curl.out == want);
    CHECK(r.requests == n);
    CHECK(r.passive_opens == 1);
}

TEST_CASE("wrk against the native httpd for 3 seconds: requests, no errors") {
    CORONET_ENTER_NETNS();
    if (::system("command -v wrk >/dev/null") != 0) {
        if (in_ci()) FAIL("wrk is missing (scripts/install-deps --bench)");
        CORONET_SKIP("wrk is not installed (scripts/install-deps --bench)");
    }
    command_output wrk;
    auto r = serve_http(test_stack(), {}, [&]() -> task<void> {
        std::vector<std::string> argv = {"wrk", "-t1", "-c4", "-d3s", base_url + "/hello"};
        wrk = co_await run_async(argv);
    });
    CHECK(r.rc == 0);
    INFO(wrk.out << wrk.err);
    CHECK(wrk.status == 0);
    std::smatch m;
    REQUIRE(std::regex_search(wrk.out, m, std::regex(R"((\d+) requests in)")));
    const auto done = std::stoull(m[1]);
    CHECK(done > 0);
    CHECK(r.requests >= done);
    // wrk prints these lines only when there were errors or non-2xx answers.
    CHECK(wrk.out.find("Socket errors") == std::string::npos);
    CHECK(wrk.out.find("Non-2xx") == std::string::npos);
    CHECK(r.passive_opens >= 4); // wrk's four connections (and the one it opens to start)
    CHECK(r.passive_opens <= 5); // kept alive throughout
}

TEST_CASE("bulk TCP both ways with kernel sockets, byte-exact: offloads on and off, 1 % loss") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t n = 16 << 20; // 256 MiB in tcp_kernel_slow_test
    SECTION("offloads on") {
        // Receive buffers of 64 KiB, so the kernel sends large segments, and the small frames
        // (its ACKs, the handshake) copied out of them (launch_native.cpp, receive_pools_for).
        auto o = bulk_both_ways(test_stack(true), n);
        check_bulk(o, n);
        CHECK(o.large_receive);
        CHECK(o.rx_copied > 0);
    }
    SECTION("offloads off") {
        auto o = bulk_both_ways(test_stack(false), n);
        check_bulk(o, n);
        CHECK_FALSE(o.large_receive);
        CHECK(o.rx_copied == 0); // MTU-sized buffers: every frame zero-copy
    }
    SECTION("1 % loss injected in front of the TAP, offloads on") {
        auto opts = test_stack(true);
        opts.faults.loss = 0.01;
        auto o = bulk_both_ways(opts, n);
        check_bulk(o, n);
        check_loss_recovered(o);
    }
}

// Offloads off: with them on, the kernel's frames on the TAP carry partial checksums (the
// receiver completes them: CHECKSUM_PARTIAL), so the capture would show every one of them
// as bad although the link is fine. No loss is injected, so neither side may repair a loss:
// no fast retransmission (a hole the receiver saw, in the capture and in the kernel's
// TcpExt counters) and no recovery by coronet. A retransmission by a timer (a tail loss
// probe, an RTO on a loaded machine) is legitimate TCP on a lossless link and not counted.
namespace {
// The kernel's loss-repair counters of this network namespace.
std::uint64_t kernel_loss_repairs() {
    return kernel_net_counters("/proc/net/netstat",
                               "TcpExt:", {"TCPFastRetrans", "TCPSackRecovery", "TCPRenoRecovery"});
}
} // namespace

TEST_CASE("a capture on the kernel side of bulk TCP both ways: no malformed packet, no bad "
          "checksum, no loss repaired") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t n = 2 << 20; // small: tcpdump must keep up (no drops, checked)
    const std::string pcap = "/tmp/coronet-tcp-kernel-" + std::to_string(::getpid()) + ".pcap";
    // Packets tcpdump drops on a busy machine say nothing about the stacks, but a capture with
    // holes cannot be checked: such a run is taken again (at most three times); the
    // transfer itself is checked every time.
    const std::regex no_drops("(^|\n)0 packets dropped by kernel");
    for (int attempt = 1;; ++attempt) {
        const auto kernel_before = kernel_loss_repairs();
        const auto o = bulk_both_ways(test_stack(false), n, pcap);
        const auto kernel_repairs = kernel_loss_repairs() - kernel_before;
        check_bulk(o, n);
        if (!std::regex_search(o.capture.err, no_drops) && attempt < 3) {
            WARN("tcpdump dropped packets: taking the capture again\n" << o.capture.err);
            continue;
        }
        INFO(o.capture.err);
        CHECK(o.capture_started);
        CHECK(o.capture.status == 0);
        CHECK(std::regex_search(o.capture.err, no_drops));
        auto tcp = run({"tshark", "-r", pcap, "-Y", "tcp"});
        REQUIRE(tcp.status == 0);
        CHECK(std::count(tcp.out.begin(), tcp.out.end(), '\n') > static_cast<long>(2 * n / 1460));
        // A TCP checksum of 0xffff where tshark computes 0x0000 is the same one's complement
        // value (RFC 1624 §3): Linux's skb_checksum_help stores a folded 0 as 0xffff
        // (CSUM_MANGLED_0), about one kernel segment in 65,536; tshark calls it bad.
        auto bad = run({"tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o",
                        "tcp.check_checksum:TRUE", "-Y",
                        "_ws.malformed || ip.checksum.status == 0 || "
                        "(tcp.checksum.status == 0 && tcp.checksum != 0xffff) || "
                        "tcp.analysis.fast_retransmission"});
        INFO(bad.out);
        CHECK(bad.status == 0);
        CHECK(bad.out.empty());
        INFO("coronet retransmitted " << o.retransmits << " segments (timers included)");
        CHECK(o.loss_repairs == 0);
        CHECK(kernel_repairs == 0);
        break;
    }
    ::unlink(pcap.c_str());
}
