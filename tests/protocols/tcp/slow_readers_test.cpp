// Eight connections that each ask the server for 10 MiB and then hold what it sends (they
// never acknowledge, or advertise a zero window, or stop reading), while a well-behaved
// client downloads 10 MiB from the same server. The server's host has the pool of a native
// stack's default (4,096 buffers) and the default 1 MiB send buffers, so the eight could pin
// 8 x 512 buffers: more than the pool. The budget caps each of them at its fair share once the
// host is under pressure, the pool's reserve keeps ACKs and the NIC's refills flowing, and the
// client is served; once the attackers are gone, the pool is whole again.
//
// The attackers sit on a host of their own behind a second link of the server's, so that
// "never acknowledge" is that link losing every frame from the moment the requests are in.
#include "tests/protocols/tcp/attack_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

enum class attack { never_acknowledge, zero_window, stop_reading };

constexpr int attackers = 8;
constexpr std::size_t file_size = 10 << 20;

struct outcome {
    std::size_t client_bytes = 0;
    bool client_intact = false;
    duration client_time{};
    std::uint32_t fewest_free = UINT32_MAX; // the server's pool, sampled every 10 ms
    std::uint64_t pressure_refusals = 0;
    std::uint64_t reserve_allocations = 0;
    std::uint32_t most_send_buffers = 0; // memory.tcp_send_buffers, sampled
    std::uint32_t in_use_before = 0;
    std::uint32_t in_use_after = 0;
    std::uint64_t queued_after = 0;
};

outcome run(attack kind, memory_limits limits = {}) {
    outcome out;
    attack_world aw(limits);
    auto& w = aw.w;
    auto& server = aw.server;
    auto& far = aw.far;
    out.in_use_before = aw.in_use_before;

    const auto file = pattern(file_size, 7);
    auto srv = server.create_process("httpd");
    bool stop = false;
    srv->spawn([&]() -> task<void> {
        auto ls = srv->listen({ipv4_any, 80}, {.backlog = 64}).get().value();
        while (!stop) {
            auto c = co_await srv->accept(ls);
            if (!c) break;
            srv->spawn([&, h = *c]() -> task<void> {
                std::array<std::byte, 64> request;
                if (auto n = co_await srv->read(h, request); n && *n > 0)
                    (void)co_await srv->write_all(h, file);
                (void)srv->close(h).get();
            });
        }
        (void)srv->close(ls).get();
    });
    w.run_for(1ms);

    auto evil = aw.attacker.create_process("attackers");
    int asked = 0;
    for (int i = 0; i < attackers; ++i) {
        evil->spawn([&]() -> task<void> {
            auto h = evil->socket(socket_type::stream).get().value();
            if (kind == attack::zero_window)
                (void)evil->set_socket_option(h, socket_option::receive_buffer, 1).get();
            if (!co_await evil->connect(h, {server_far_addr, 80})) co_return;
            const std::array<std::byte, 4> get{std::byte{'G'}, std::byte{'E'}, std::byte{'T'},
                                               std::byte{'\n'}};
            (void)co_await evil->write_all(h, get);
            ++asked;
            // Never reads: holds the connection until the process ends (then sleep fails;
            // looping on regardless would spin for ever).
            while ((co_await evil->sleep(3600s)).has_value()) {
            }
        });
    }
    w.run_until([&] { return asked == attackers; }, 10s);
    if (kind == attack::never_acknowledge) far.faults().set_config({.loss = 1.0});
    pressure_samples samples;
    const auto sample = [&] { samples.take(server, "tcp_send_buffers"); };
    aw.run_sampled(200, sample); // 2 s: the eight fill what they may

    auto cli = aw.client.create_process("client");
    std::vector<std::byte> got;
    bool done = false;
    const auto start = w.now();
    cli->spawn([&]() -> task<void> {
        auto c = co_await cli->connect({b_addr, 80});
        if (!c) co_return;
        const std::array<std::byte, 4> get{std::byte{'G'}, std::byte{'E'}, std::byte{'T'},
                                           std::byte{'\n'}};
        (void)co_await cli->write_all(*c, get);
        std::vector<std::byte> buf(64 << 10);
        for (;;) {
            auto n = co_await cli->read(*c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        (void)cli->close(*c).get();
        done = true;
    });
    aw.run_sampled(6000, sample, [&] { return done; }); // at most 60 s
    out.fewest_free = samples.fewest_free;
    out.most_send_buffers = static_cast<std::uint32_t>(samples.most_queued);
    out.client_time = w.now() - start;
    out.client_bytes = got.size();
    out.client_intact = got.size() == file.size() && first_difference(got, file) == file.size();
    out.pressure_refusals = memory_gauge(server, "pressure_refusals");
    out.reserve_allocations = server.pool().reserve_allocations();

    stop = true;
    out.in_use_after = aw.wind_down(*evil, *cli, *srv);
    out.queued_after = memory_gauge(server, "queued_buffers");
    return out;
}

void check_served(const outcome& o) {
    INFO("client got "
         << o.client_bytes << " bytes in "
         << std::chrono::duration_cast<std::chrono::milliseconds>(o.client_time).count()
         << " ms; fewest free buffers " << o.fewest_free << "; send queues at most "
         << o.most_send_buffers << " buffers; pressure refusals " << o.pressure_refusals
         << "; reserve allocations " << o.reserve_allocations);
    CHECK(o.client_bytes == file_size);
    CHECK(o.client_intact);
    CHECK(o.client_time < 30s);
    // Queues never reached the reserve (256 of the 4,096 buffers).
    CHECK(o.fewest_free > 256);
    // The budget's hard limit (2,880 buffers), plus a floor of 8 for each of the nine queues.
    CHECK(o.most_send_buffers <= 2880 + 9 * 8);
    CHECK(o.in_use_after == o.in_use_before);
    CHECK(o.queued_after == 0);
}

} // namespace

TEST_CASE("tcp memory: 8 readers that never acknowledge leave a client served",
          "[tcp][memory][adversarial]") {
    const auto o = run(attack::never_acknowledge);
    check_served(o);
    CHECK(o.pressure_refusals > 0);
}

TEST_CASE("tcp memory: 8 readers advertising a zero window forever leave a client served",
          "[tcp][memory][adversarial]") {
    const auto o = run(attack::zero_window);
    check_served(o);
    CHECK(o.pressure_refusals > 0);
}

TEST_CASE("tcp memory: 8 readers that stop reading after a request leave a client served",
          "[tcp][memory][adversarial]") {
    const auto o = run(attack::stop_reading);
    check_served(o);
    CHECK(o.pressure_refusals > 0);
}

TEST_CASE("tcp memory: without the budget the same 8 readers starve the client",
          "[tcp][memory][adversarial]") {
    // What the cases above defend against, so that they cannot pass for want of an attack:
    // with the budget's limits at the whole pool the eight send queues pin all but the
    // reserve, and the client gets nothing in 60 s. The pool is whole once they are gone.
    const auto o = run(attack::never_acknowledge, {.low = 4096, .pressure = 4096, .hard = 4096});
    CHECK(o.client_bytes == 0);
    CHECK(o.fewest_free <= 256);
    CHECK(o.pressure_refusals == 0);
    CHECK(o.in_use_after == o.in_use_before);
}
