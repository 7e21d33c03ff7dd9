// Readers that stop reading, against the HTTP server of coronet-httpd on the native stack
// over TAP (the launcher's pools and defaults): eight kernel sockets with the smallest
// receive buffer each ask for a 10 MiB file and never read a byte, so coronet's send
// buffers fill with what the peers' closed windows keep (up to 1 MiB each: 512 buffers of
// 2 KiB, 8 x 512 the stack's whole pool of 4,096). Meanwhile curl fetches the same file and
// must get all of it, promptly; once the attackers are gone the pool is whole again.
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

} // namespace

TEST_CASE("eight readers that never read hold coronet-httpd's send buffers; curl is still served "
          "the whole file, and the pool is whole once they are gone",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto root = std::filesystem::temp_directory_path() /
                ("coronet-slow-readers-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    const std::string big = pattern_file(10 << 20);
    std::ofstream(root / "big.bin", std::ios::binary)
        .write(big.data(), static_cast<std::streamsize>(big.size()));
    const std::string fetched = (root / "fetched.bin").string();

    examples::httpd_config cfg{.port = 80, .root = root.string()};
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
        auto deadline = scheduler::current().now() + 10s;
        while (scheduler::current().now() < deadline) {
            answered = 0;
            for (auto& s : slow)
                answered += s->unread() > 0;
            if (answered == attackers) break;
            (void)co_await sleep_for(10ms);
        }
        for (int i = 0; i < 100; ++i) {
            least_free = std::min(least_free, pool.available());
            (void)co_await sleep_for(10ms);
        }

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
        curl = co_await run_async(cmd, 40s);
        curl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(scheduler::current().now() -
                                                                        asked)
                      .count();
        for (auto& s : slow) {
            least_free = std::min(least_free, pool.available());
            s->close_now();
        }
        // The RSTs free the send buffers; the pool is whole (free or lent to a NIC) again.
        deadline = scheduler::current().now() + 10s;
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
    CHECK(curl.out == "200 " + std::to_string(big.size()));
    const bool intact = coronet::test::slurp(fetched) == big; // (not printed: 10 MiB)
    CHECK(intact);
    WARN("stack pool of " << count << " buffers: " << least_free
                          << " free at the least while the readers stalled; curl took " << curl_ms
                          << " ms");
    CHECK(free_after + lent_after == count);
    std::filesystem::remove_all(root);
}
