// coronet's native stack on a TAP device with TSO, the Linux kernel reading on the other end:
// send_zc of 4 MiB in 100-byte slices. The TAP takes 64 slices a frame (the iovecs of one
// writev) and says so in nic_features::max_tx_slices; a 64 KiB segment of such slices has
// hundreds, so the stack copies each frame into fewer buffers before the TAP sees it
// (ethernet.out_linearized) instead of the TAP refusing it (tx_dropped_too_many_slices) and
// TCP waiting for a retransmission timeout. The kernel reads every byte, in order.
#include "drivers/tap/tap_nic.hpp"
#include "framework/coronet.hpp"
#include "protocols/stack/launch.hpp"
#include "tests/integration/kernel_peer.hpp"

#include <catch2/catch.hpp>
#include <thread>

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

TEST_CASE("send_zc of 100-byte slices over a TAP with TSO: frames beyond its 64 slices are "
          "copied, none refused, and the kernel reads every byte in order",
          "[integration][tap][gather_limit]") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t n = 4 << 20;
    constexpr std::uint32_t slice = 100;
    // The user's buffers outlive the stack: the socket holds slices until they are acked.
    buffer_pool user({.buffer_size = 4096, .buffer_count = 1100, .slice_count = 65536});
    stream_report at_kernel;
    kernel_listener listener(5001);
    REQUIRE(listener.ok());
    std::thread sink = kernel_sink(listener, at_kernel);
    int send_error = -1;
    std::uint64_t linearized = 0, copied = 0, refused = 1, max_slices = 0;
    bool kernel_done = false;
    int rc = run_server(test_stack(true), [&](server_context& ctx) -> task<void> {
        auto& p = ctx.proc;
        max_slices = ctx.tap->features().max_tx_slices;
        auto c = co_await p.connect({kernel_ip, 5001});
        send_error = c ? 0 : c.error();
        for (std::uint64_t at = 0; c && at < n && send_error == 0;) {
            packet chunk; // 64 KiB of the pattern, 100 bytes a slice
            for (int b = 0; b < 16 && at < n; ++b) {
                auto buf = user.allocate().value();
                const auto len = static_cast<std::uint32_t>(std::min<std::uint64_t>(4096, n - at));
                examples::fill_pattern(buf.data().first(len), at);
                for (std::uint32_t off = 0; off < len; off += slice)
                    chunk.append_slice(buf, off, std::min(slice, len - off)).value();
                at += len;
            }
            if (auto r = co_await p.send_zc_all(*c, chunk); !r) send_error = r.error();
        }
        if (c) (void)co_await p.close(*c);
        kernel_done = co_await wait_flag(at_kernel.done);
        linearized = ctx.counters.read("ethernet.out_linearized").value();
        copied = ctx.counters.read("ethernet.bytes_copied_linearized").value();
        refused = ctx.counters.read(ctx.tap->name() + ".tx_dropped_too_many_slices").value();
        ctx.finish();
    });
    sink.join();
    CHECK(rc == 0);
    CHECK(send_error == 0);
    CHECK(kernel_done);
    CHECK(max_slices == 64);
    INFO("linearized " << linearized << " frames, " << copied << " bytes");
    CHECK(at_kernel.error == 0);
    CHECK(at_kernel.bytes == n);
    CHECK(at_kernel.hash == pattern_hash(n));
    CHECK(refused == 0);
    CHECK(linearized > 0); // not every frame: a short one has 64 slices or fewer
    CHECK(copied > 0);
}
