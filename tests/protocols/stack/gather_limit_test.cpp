// The NIC's gather limit (nic_features::max_tx_slices) over the in-memory wire: frames with
// more slices than the NIC takes are copied into fewer buffers (and TSO frames too long for
// that cut in software first) instead of being refused, so TCP over offloading NICs delivers
// byte-exact with no retransmission timeout; every copy is counted, and nothing is dropped.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>
#include <cstring>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

// Checksum offload and TSO both ways, frames passed whole, at most `slices` slices a frame.
nic_features offloads(std::uint32_t slices) {
    nic_features f;
    f.rx_checksum_validated = f.tx_checksum_offload = f.tso = f.rx_gso = true;
    f.max_tx_slices = slices;
    return f;
}

struct limited_pair {
    // The user's buffers outlive the world: the sender's socket holds slices until acked.
    buffer_pool user{{.buffer_size = 4096, .buffer_count = 1024, .slice_count = 65536}};
    pair_world pw;
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    std::vector<std::byte> got;
    bool server_done = false;
    limited_pair(std::uint32_t slices, fault_config faults = {})
        : pw(tcp::config{}, {.latency = 1ms, .bandwidth_bps = 1'000'000'000, .faults = faults},
             offloads(slices), offloads(slices)) {
        (void)pw.w.run(pw.a.stack().ping(b_addr));
        server->spawn([this]() -> task<void> {
            auto ls = server->listen({ipv4_any, 80}).get().value();
            auto c = (co_await server->accept(ls)).value();
            (void)co_await exchange(*server, c, {}, got); // reads to the end, sends nothing
            (void)server->close(c).get();
            (void)server->close(ls).get();
            server_done = true;
        });
    }
    ~limited_pair() {
        server->terminate("test over");
        client->terminate("test over");
        pw.w.run(server->join());
        pw.w.run(client->join());
    }
    std::uint64_t counter(sim::host& h, const std::string& name) {
        return h.counters().read(name).value();
    }
};

// `bytes` as a send_zc writer with small records would hand them over: `slice` bytes per
// slice, side by side in the user's buffers.
packet small_slices(buffer_pool& pool, std::span<const std::byte> bytes, std::uint32_t slice) {
    packet p;
    while (!bytes.empty()) {
        auto b = pool.allocate().value();
        const std::size_t n = std::min<std::size_t>(bytes.size(), pool.buffer_size());
        std::memcpy(b.data().data(), bytes.data(), n);
        for (std::uint32_t off = 0; off < n; off += slice)
            p.append_slice(b, off,
                           std::min<std::uint32_t>(slice, static_cast<std::uint32_t>(n) - off))
                .value();
        bytes = bytes.subspan(n);
    }
    return p;
}

void send_zc_in_small_slices(limited_pair& z, const std::vector<std::byte>& data) {
    bool client_done = false;
    process* cp = z.client.get();
    cp->spawn([&]() -> task<void> {
        auto c = (co_await cp->connect({b_addr, 80})).value();
        for (std::size_t off = 0; off < data.size(); off += 128 * 1024) {
            const std::size_t n = std::min<std::size_t>(128 * 1024, data.size() - off);
            packet p = small_slices(z.user, std::span(data).subspan(off, n), 100);
            if (!co_await cp->send_zc_all(c, p)) co_return;
        }
        (void)cp->close(c).get();
        client_done = true;
    });
    z.pw.w.run_until([&] { return client_done && z.server_done; }, 600s);
    REQUIRE(client_done);
    REQUIRE(z.server_done);
}

} // namespace

TEST_CASE("gather limit: send_zc of 100-byte slices under TSO, 8 slices a frame: TSO frames "
          "are cut in software and each segment copied into one buffer, byte-exact",
          "[stack][gather_limit][zero_copy]") {
    limited_pair z(8);
    const auto data = pattern(1 << 20, 3);
    send_zc_in_small_slices(z, data);
    INFO("linearized " << z.counter(z.pw.a, "ethernet.out_linearized") << " frames, "
                       << z.counter(z.pw.a, "ethernet.bytes_copied_linearized") << " bytes; "
                       << z.counter(z.pw.a, "ethernet.out_gso_segmented") << " TSO frames cut");
    CHECK(z.got.size() == data.size());
    CHECK(first_difference(z.got, data) == data.size());
    CHECK(z.counter(z.pw.a, "eth0.tx_dropped_too_many_slices") == 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_dropped_too_many_slices") == 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_gso_segmented") > 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_linearized") > 0);
    // Every payload byte went through one copy (with the headers of each frame).
    CHECK(z.counter(z.pw.a, "ethernet.bytes_copied_linearized") >= data.size());
    CHECK(z.counter(z.pw.a, "tcp.timeouts") == 0);
    CHECK(z.counter(z.pw.a, "tcp.retrans_segs") == 0);
    CHECK(z.counter(z.pw.a, "tcp.bytes_copied_in") == 0); // send_zc itself still copies nothing
}

TEST_CASE("gather limit: with the TAP's 64 slices a TSO frame of 100-byte slices is copied "
          "into 33 buffers and leaves whole, byte-exact",
          "[stack][gather_limit][zero_copy]") {
    limited_pair z(64);
    const auto data = pattern(1 << 20, 4);
    send_zc_in_small_slices(z, data);
    CHECK(first_difference(z.got, data) == data.size());
    CHECK(z.got.size() == data.size());
    CHECK(z.counter(z.pw.a, "eth0.tx_dropped_too_many_slices") == 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_gso_segmented") == 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_linearized") > 0);
    CHECK(z.counter(z.pw.a, "tcp.timeouts") == 0);
    CHECK(z.counter(z.pw.a, "tcp.retrans_segs") == 0);
}

TEST_CASE("gather limit: 20,000 TCP_NODELAY writes of 64 bytes under TSO with 4 slices a frame "
          "and 1 % loss: retransmissions spanning many writes are copied, byte-exact",
          "[stack][gather_limit]") {
    limited_pair z(4, {.loss = 0.01});
    const auto data = pattern(20000 * 64, 5);
    bool client_done = false;
    process* cp = z.client.get();
    cp->spawn([&]() -> task<void> {
        auto c = (co_await cp->connect({b_addr, 80})).value();
        (void)cp->set_socket_option(c, socket_option::no_delay, 1).get();
        for (std::size_t off = 0; off < data.size(); off += 64) {
            if (!co_await cp->write_all(c, std::span(data).subspan(off, 64))) co_return;
            if (off % 4096 == 0) (void)co_await cp->sleep(100us); // let ACKs in now and then
        }
        (void)cp->close(c).get();
        client_done = true;
    });
    z.pw.w.run_until([&] { return client_done && z.server_done; }, 600s);
    REQUIRE(client_done);
    REQUIRE(z.server_done);
    CHECK(z.got.size() == data.size());
    CHECK(first_difference(z.got, data) == data.size());
    CHECK(z.counter(z.pw.a, "eth0.tx_dropped_too_many_slices") == 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_dropped_too_many_slices") == 0);
    CHECK(z.counter(z.pw.a, "ethernet.out_linearized") > 0);
    CHECK(z.counter(z.pw.a, "tcp.retrans_segs") > 0); // the loss was there
}
