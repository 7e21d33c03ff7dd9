// Segmentation offload: when the NIC cuts segments itself (TSO, with checksum offload), TCP
// hands it segments larger than the MSS, marked gso_tcpv4 with the MSS as the cut size and
// the checksum left to the NIC; without the offload it segments itself. The receiver here
// takes the large frame whole (as the kernel hands coronet GRO'd segments on a TAP), so the
// bytes arriving intact shows the large segments are well formed.
#include "tests/protocols/stack_fixture.hpp"
#include "tests/protocols/tcp/sim_fixture.hpp"

#include "framework/process/process.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::testing;
using namespace std::chrono_literals;

namespace {

struct largest_frame final : frame_tap {
    std::size_t bytes = 0;
    std::uint16_t gso_size = 0;
    std::size_t gso_frames = 0;
    void on_frame(frame_direction dir, const packet& frame, time_point) override {
        if (dir != frame_direction::tx) return;
        bytes = std::max(bytes, frame.length());
        const auto& o = frame.meta().offload;
        if (o.gso_type == packet_offload::gso_tcpv4) {
            ++gso_frames;
            gso_size = o.gso_size;
            CHECK((o.flags & packet_offload::needs_csum) != 0);
        }
    }
};

struct outcome {
    std::vector<std::byte> received;
    std::uint64_t segments_out = 0;
    largest_frame seen;
};

outcome send_256k(nic_features sender_features) {
    world w;
    host a{w, "a0", {0x02, 0, 0, 0, 0, 0x01}, {{10, 0, 0, 1}, 24}, {}, 1500, sender_features};
    host b{w, "b0", {0x02, 0, 0, 0, 0, 0x02}, {{10, 0, 0, 2}, 24}};
    connect(a, b, 1ms);
    outcome out;
    a.card.add_tap(out.seen);
    const auto data = tcp_test::pattern(256 << 10, 9);
    auto server = process::create("server", &b.stack);
    auto client = process::create("client", &a.stack);
    bool done = false;
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}).get();
        if (!ls) co_return;
        auto c = co_await server->accept(*ls);
        if (!c) co_return;
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto r = co_await server->read(*c, buf);
            if (!r || *r == 0) break;
            out.received.insert(out.received.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
        }
        done = true;
    });
    client->spawn([&]() -> task<void> {
        auto c = co_await client->connect({ipv4_address(10, 0, 0, 2), 80});
        if (!c) co_return;
        (void)co_await client->write_all(*c, data);
        (void)client->close(*c).get();
    });
    for (int i = 0; i < 1000 && !done; ++i) w.advance(10ms);
    out.segments_out = a.counter("tcp.out_segs");
    a.card.remove_tap(out.seen);
    server->terminate("test over");
    client->terminate("test over");
    w.sched.run(server->join());
    w.sched.run(client->join());
    CHECK(tcp_test::first_difference(out.received, data) == data.size());
    CHECK(out.received.size() == data.size());
    return out;
}

} // namespace

TEST_CASE("tcp segmentation offload: segments beyond the MSS go to a NIC that cuts them, "
          "with the checksum left to it",
          "[tcp][tso]") {
    const auto with = send_256k({.tx_checksum_offload = true, .tso = true});
    CHECK(with.seen.gso_frames > 0);
    CHECK(with.seen.bytes > 1514);
    CHECK(with.seen.bytes <= 65535 + 14);
    CHECK(with.seen.gso_size == 1448); // the MSS less the timestamp option
    const auto without = send_256k({});
    CHECK(without.seen.gso_frames == 0);
    CHECK(without.seen.bytes <= 1514);
    // 256 KiB is 182 full segments; handed down whole it is a fraction of that.
    CHECK(without.segments_out > 180);
    CHECK(with.segments_out * 3 < without.segments_out);
}

TEST_CASE("tcp segmentation offload: checksum offload alone does not make TCP send large "
          "segments",
          "[tcp][tso]") {
    const auto r = send_256k({.tx_checksum_offload = true, .tso = false});
    CHECK(r.seen.gso_frames == 0);
    CHECK(r.seen.bytes <= 1514);
}
