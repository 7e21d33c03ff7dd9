// Receive-buffer auto-tuning (Linux's dynamic right-sizing): on a path whose bandwidth-delay
// product is far above the initial 128 KiB window, the receiver's buffer grows with what
// arrives per round trip, up to config.max_receive_buffer, and the transfer speeds up; a
// buffer the application sized itself (SO_RCVBUF) is left alone, as Linux locks it.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

struct one_way_outcome {
    bool ok = false;
    std::size_t received = 0;
    std::int64_t final_buffer = 0; // the receiver's SO_RCVBUF at the end
    duration took{};
};

// `bytes` from a to b over 1 Gbit/s with 20 ms one-way latency (BDP 5 MB); the receiver sets
// SO_RCVBUF to `fixed_buffer` right after accept when it is non-zero.
one_way_outcome send_one_way(tcp::config cfg, std::size_t bytes, std::int64_t fixed_buffer = 0) {
    pair_world pw({}, cfg, 1, 1500, 20ms);
    one_way_outcome out;
    auto server = pw.b.create_process("server");
    auto client = pw.a.create_process("client");
    process* sp = server.get();
    process* cp = client.get();
    bool done = false;
    const time_point start = pw.w.now();
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get();
        if (!ls) co_return;
        auto c = co_await sp->accept(*ls);
        if (!c) co_return;
        if (fixed_buffer != 0 && !sp->set_socket_option(*c, socket_option::receive_buffer, fixed_buffer).get())
            co_return;
        std::vector<std::byte> buf(256 * 1024);
        for (;;) {
            auto r = co_await sp->read(*c, buf);
            if (!r || *r == 0) {
                out.ok = r.has_value();
                break;
            }
            out.received += *r;
        }
        out.final_buffer = sp->get_socket_option(*c, socket_option::receive_buffer).get().value_or(-1);
        out.took = pw.w.now() - start;
        done = true;
    });
    cp->spawn([&]() -> task<void> {
        auto c = co_await cp->connect({b_addr, 80});
        if (!c) co_return;
        const auto data = pattern(bytes, 5);
        (void)co_await cp->write_all(*c, data);
        (void)cp->close(*c).get();
    });
    pw.w.run_until([&] { return done; }, 3600s);
    server->terminate("test over");
    client->terminate("test over");
    pw.w.run(server->join());
    pw.w.run(client->join());
    return out;
}

} // namespace

TEST_CASE("tcp auto-tuning: the receive buffer grows towards the path's BDP, within the "
          "maximum, and the transfer speeds up",
          "[tcp][autotune]") {
    constexpr std::size_t bytes = 16 << 20;
    tcp::config tuned;
    tcp::config fixed;
    fixed.auto_tune = false;
    const auto with = send_one_way(tuned, bytes);
    const auto without = send_one_way(fixed, bytes);
    REQUIRE(with.ok);
    REQUIRE(without.ok);
    CHECK(with.received == bytes);
    CHECK(without.received == bytes);
    // Without tuning the window stays 128 KiB: one window per 40 ms round trip, 3.3 MB/s.
    CHECK(without.final_buffer == static_cast<std::int64_t>(tuned.receive_buffer));
    CHECK(without.took > 5s);
    // With it, the buffer passes the 5 MB BDP's order of magnitude but not the ceiling.
    CHECK(with.final_buffer > static_cast<std::int64_t>(1 << 20));
    CHECK(with.final_buffer <= static_cast<std::int64_t>(tuned.max_receive_buffer));
    CHECK(with.took * 4 < without.took);
}

TEST_CASE("tcp auto-tuning: a buffer set with SO_RCVBUF is not tuned", "[tcp][autotune]") {
    const auto r = send_one_way({}, 4 << 20, 64 << 10);
    REQUIRE(r.ok);
    CHECK(r.received == std::size_t{4} << 20);
    CHECK(r.final_buffer == 64 << 10);
}
