// Readers that stop reading, against the HTTP server of coronet-httpd on the native stack
// over TAP (the launcher's pools and defaults): eight kernel sockets with the smallest
// receive buffer each ask for a 10 MiB file and never read a byte, so coronet's send
// buffers fill with what the peers' closed windows keep (up to 1 MiB each: 512 buffers of
// 2 KiB, 8 x 512 the stack's whole pool of 4,096). Meanwhile curl fetches the same file and
// must get all of it, promptly; once the attackers are gone the pool is whole again.
// Then eight readers that vanish (their kernel addresses deleted, so neither ACK nor RST
// comes back) until coronet's retransmissions give up.
#include "drivers/tap/tap_nic.hpp"
#include "examples/common/http_server.hpp"
#include "protocols/stack/native_stack.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::test::command_output;
using coronet::test::run_async;
using coronet::test::test_stack;

namespace {

std::string pattern_file(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>(i * 31 + i / 4096);
    return s;
}

// A document root of its own holding big.bin (10 MiB of a pattern), gone with the object.
struct big_file_root {
    explicit big_file_root(const std::string& name)
        : root(std::filesystem::temp_directory_path() /
               ("coronet-" + name + "-" + std::to_string(::getpid()))),
          big(pattern_file(10 << 20)), fetched((root / "fetched.bin").string()) {
        std::filesystem::create_directories(root);
        std::ofstream(root / "big.bin", std::ios::binary)
            .write(big.data(), static_cast<std::streamsize>(big.size()));
    }
    ~big_file_root() { std::filesystem::remove_all(root); }
    big_file_root(const big_file_root&) = delete;
    big_file_root& operator=(const big_file_root&) = delete;
    // curl's download of big.bin into `fetched` ("<status> <bytes>" on its output), and the
    // milliseconds it took in `ms`.
    task<command_output> curl(long long& ms) const {
        std::vector<std::string> cmd = {"curl",
                                        "-sS",
                                        "--max-time",
                                        "30",
                                        "-o",
                                        fetched,
                                        "-w",
                                        "%{http_code} %{size_download}",
                                        "http://10.0.0.2/big.bin"};
        const auto asked = scheduler::current().now();
        auto out = co_await run_async(cmd, 40s);
        ms = std::chrono::duration_cast<std::chrono::milliseconds>(scheduler::current().now() -
                                                                   asked)
                 .count();
        co_return out;
    }
    bool intact() const { return coronet::test::slurp(fetched) == big; } // (not printed: 10 MiB)

    std::filesystem::path root;
    std::string big;
    std::string fetched;
};

// Until each of `readers` has been sent the start of its answer; how many were.
task<int> until_answered(std::vector<std::unique_ptr<test::kernel_http_reader>>& readers) {
    int answered = 0;
    auto deadline = scheduler::current().now() + 10s;
    while (scheduler::current().now() < deadline) {
        answered = 0;
        for (auto& r : readers)
            answered += r->unread() > 0;
        if (answered == static_cast<int>(readers.size())) break;
        (void)co_await sleep_for(10ms);
    }
    co_return answered;
}

// Keeps in `least` the fewest buffers free in `pool`, and in `most_sending` the most that
// the send queues pinned, sampled each millisecond until `stop`.
task<void> watch_pool(server_context& ctx, buffer_pool& pool, std::uint32_t& least,
                      std::uint64_t& most_sending, const bool& stop) {
    while (!stop) {
        least = std::min(least, pool.available());
        most_sending =
            std::max(most_sending, ctx.counters.read("memory.tcp_send_buffers").value_or(0));
        (void)co_await sleep_for(1ms);
    }
}

} // namespace

TEST_CASE("eight readers that never read hold coronet-httpd's send buffers; curl is still served "
          "the whole file, and the pool is whole once they are gone",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    const big_file_root files("slow-readers");
    examples::httpd_config cfg{.port = 80, .root = files.root.string()};
    examples::server_state st{cfg};
    constexpr int attackers = 8;
    int requested = 0, answered = 0;
    std::uint32_t least_free = UINT32_MAX;
    std::uint32_t count = 0, free_after = 0, lent_after = 0, free_before = 0;
    command_output curl;
    long long curl_ms = 0;
    int rc = run_server(test_stack(), [&](server_context& ctx) -> task<void> {
        ctx.proc.spawn(examples::http_serve(ctx.proc, st));
        auto& pool = ctx.native->pool();
        count = pool.buffer_count();
        free_before = pool.available();
        std::vector<std::unique_ptr<test::kernel_http_reader>> slow;
        for (int i = 0; i < attackers; ++i) {
            slow.push_back(std::make_unique<test::kernel_http_reader>(80, 1));
            requested += co_await slow.back()->request("/big.bin");
        }
        // Until every attacker has been sent what its window takes, and the server has had
        // time to fill each send buffer behind it.
        answered = co_await until_answered(slow);
        for (int i = 0; i < 100; ++i) {
            least_free = std::min(least_free, pool.available());
            (void)co_await sleep_for(10ms);
        }

        curl = co_await files.curl(curl_ms);
        for (auto& s : slow) {
            least_free = std::min(least_free, pool.available());
            s->close_now();
        }
        // The RSTs free the send buffers; the pool is whole (free or lent to a NIC) again.
        auto deadline = scheduler::current().now() + 10s;
        while (scheduler::current().now() < deadline && pool.available() != free_before)
            (void)co_await sleep_for(10ms);
        free_after = pool.available();
        lent_after = pool.lent();
        ctx.finish();
    });
    CHECK(rc == 0);
    CHECK(requested == attackers);
    CHECK(answered == attackers);
    INFO(curl.err);
    CHECK(curl.status == 0);
    CHECK(curl.out == "200 " + std::to_string(files.big.size()));
    CHECK(files.intact());
    WARN("stack pool of " << count << " buffers: " << least_free
                          << " free at the least while the readers stalled; curl took " << curl_ms
                          << " ms");
    CHECK(free_after + lent_after == count);
}

TEST_CASE("eight readers that vanish without a RST once they asked for a 10 MiB file never "
          "drive coronet-httpd's pool into its reserve; curl is served the whole file, and once "
          "the retransmissions give up the pool is whole",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    const big_file_root files("vanished-readers");
    examples::httpd_config cfg{.port = 80, .root = files.root.string()};
    examples::server_state st{cfg};
    auto opts = test_stack();
    // Unanswered retransmissions end a connection after 3 backoffs (Linux's tcp_retries2: 15),
    // about 3 s from the 200 ms minimum RTO.
    opts.tcp_retries = 3;
    constexpr int attackers = 8;
    int requested = 0, answered = 0;
    bool addressed = false, removed = false, stop = false;
    std::uint32_t least_free = UINT32_MAX, count = 0, reserve = 0;
    std::uint32_t free_before = 0, free_after = 0, lent_after = 0;
    std::uint64_t estab_gone = 0, estab_after = 0, refusals = 0, queued_after = 0, most_sending = 0;
    std::uint64_t icmp_in = 0;
    test::kernel_replies kernel;
    command_output curl;
    long long curl_ms = 0;
    int rc = run_server(opts, [&](server_context& ctx) -> task<void> {
        ctx.proc.spawn(examples::http_serve(ctx.proc, st));
        auto& pool = ctx.native->pool();
        count = pool.buffer_count();
        reserve = pool.reserve();
        free_before = pool.available();
        test::kernel_addresses from(ctx.tap->name(), attackers);
        addressed = from.ok();
        std::vector<std::unique_ptr<test::kernel_http_reader>> gone;
        for (int i = 0; i < attackers; ++i) {
            gone.push_back(std::make_unique<test::kernel_http_reader>(80, 0, from[i]));
            requested += co_await gone.back()->request("/big.bin");
        }
        answered = co_await until_answered(gone);
        const test::kernel_replies before;
        ctx.proc.spawn(watch_pool(ctx, pool, least_free, most_sending, stop));
        from.remove();
        removed = from.ok();
        (void)co_await sleep_for(500ms); // the send buffers fill behind what is never acknowledged
        estab_gone = ctx.counters.read("tcp.curr_estab").value_or(0);
        curl = co_await files.curl(curl_ms);
        auto deadline = scheduler::current().now() + 15s;
        while (ctx.counters.read("tcp.curr_estab").value_or(0) != 0 &&
               scheduler::current().now() < deadline)
            (void)co_await sleep_for(10ms);
        estab_after = ctx.counters.read("tcp.curr_estab").value_or(0);
        deadline = scheduler::current().now() + 10s;
        while (scheduler::current().now() < deadline && pool.available() != free_before)
            (void)co_await sleep_for(10ms);
        stop = true;
        free_after = pool.available();
        lent_after = pool.lent();
        refusals = pool.reserve_refusals();
        queued_after = ctx.counters.read("memory.queued_buffers").value_or(0);
        icmp_in = ctx.counters.read("icmp.in_msgs").value_or(0);
        kernel = before.since();
        (void)co_await sleep_for(2ms); // watch_pool ends
        ctx.finish();
    });
    CHECK(rc == 0);
    CHECK(addressed);
    CHECK(requested == attackers);
    CHECK(answered == attackers);
    CHECK(removed);
    INFO(curl.err);
    CHECK(curl.status == 0);
    CHECK(curl.out == "200 " + std::to_string(files.big.size()));
    CHECK(files.intact());
    // Still connected when curl began (to coronet, the peers merely stopped answering).
    CHECK(estab_gone == attackers);
    // What coronet sent them was dropped by the kernel, answered by neither RST nor ICMP.
    CHECK(kernel.dropped > 0);
    CHECK(kernel.rsts == 0);
    CHECK(kernel.icmp == 0);
    CHECK(icmp_in == 0);
    // What they were sent and never acknowledged stayed queued, within the budget and short
    // of the reserve.
    CHECK(most_sending > 0);
    CHECK(least_free > reserve);
    CHECK(refusals == 0);
    CHECK(estab_after == 0);
    CHECK(queued_after == 0);
    CHECK(free_after == free_before);
    CHECK(free_after + lent_after == count);
    WARN("stack pool of " << count << " buffers (reserve " << reserve << "): " << least_free
                          << " free at the least while the readers were gone, send queues pinned "
                          << most_sending << " buffers at the most; curl took " << curl_ms
                          << " ms; " << kernel.dropped << " packets dropped by the kernel");
}
