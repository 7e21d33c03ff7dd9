// The receive side of the memory budget: attackers send whatever our window allows to a
// server that never reads their connections, while a well-behaved client uploads 10 MiB to
// the same server and downloads 10 MiB from it.
//   in order:      thirty-two connections whose MSS is 300 bytes, so that each segment pins a
//                  2 KiB buffer: 128 KiB windows would pin 32 x 437 buffers, three times the
//                  pool. Under pressure the queues collapse into full buffers, then drop what
//                  the budget refuses, and the window is clamped to what they may still take.
//   out of order:  thirty-two connections, each with a hole at RCV.NXT and one-byte pieces
//                  scattered over the window beyond it, 300 at once then 50 every 100 ms (32 x
//                  256 blocks, a buffer each, would take the pool twice). Under pressure new
//                  out-of-order data is dropped.
// Without the budget (its limits at the whole pool) the same attacks starve the client, so
// that the cases with it cannot pass for want of an attack. After each, once the attackers
// are gone, the pool is whole again and nothing is charged. A last case runs one transfer
// through every pressure path (collapse, renege, drops) and checks it byte-exact.
#include "tests/protocols/tcp/attack_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

enum class flood { in_order, out_of_order };

constexpr std::size_t file_size = 10 << 20;
const ipv4_address attacker_addr(10, 0, 1, 1);
constexpr std::uint16_t sink_port = 81; // the server accepts there and never reads

struct outcome {
    bool client_ok = false;
    bool upload_intact = false;
    bool download_intact = false;
    std::size_t uploaded = 0;
    std::size_t downloaded = 0;
    duration client_time{};
    pressure_samples receive; // memory.tcp_receive_buffers
    pressure_samples out_of_order;
    std::uint64_t pressure_refusals = 0;
    std::uint64_t collapsed = 0;
    std::uint64_t reneged = 0;
    std::uint64_t rcv_dropped = 0;
    std::uint64_t ofo_dropped_memory = 0;
    std::uint64_t injected = 0;
    std::uint32_t in_use_before = 0;
    std::uint32_t in_use_after = 0;
    std::uint64_t queued_after = 0;
};

outcome run(flood kind, int attackers, memory_limits limits = {}) {
    outcome out;
    attack_world aw(limits);
    auto& w = aw.w;
    auto& server = aw.server;
    out.in_use_before = aw.in_use_before;
    const auto tcp_counter = [&](const char* name) {
        return server.counters().find("tcp")->find(name)->value;
    };

    const auto download = pattern(file_size, 7);
    const auto upload = pattern(file_size, 8);
    std::vector<std::byte> at_server;
    bool served = false;
    auto srv = server.create_process("server");
    srv->spawn([&]() -> task<void> {
        auto ls = srv->listen({ipv4_any, 80}).get().value();
        auto c = co_await srv->accept(ls);
        if (!c) co_return;
        (void)co_await exchange(*srv, *c, download, at_server);
        (void)srv->close(*c).get();
        served = true;
    });
    std::vector<handle> held; // never read; closed when the process ends
    srv->spawn([&]() -> task<void> {
        auto ls = srv->listen({ipv4_any, sink_port}, {.backlog = 64}).get().value();
        for (;;) {
            auto c = co_await srv->accept(ls);
            if (!c) co_return;
            held.push_back(*c);
        }
    });
    w.run_for(1ms);

    auto evil = aw.attacker.create_process("attackers");
    std::vector<endpoint> ends;
    const auto junk = pattern(64 << 10, 9);
    for (int i = 0; i < attackers; ++i) {
        evil->spawn([&]() -> task<void> {
            auto h = evil->socket(socket_type::stream).get().value();
            if (kind == flood::in_order)
                (void)evil->set_socket_option(h, socket_option::max_segment, 300).get();
            if (!co_await evil->connect(h, {server_far_addr, sink_port})) co_return;
            ends.push_back(evil->get_socket_name(h).get().value());
            // As fast as the window allows, until the process ends.
            while (kind == flood::in_order) {
                auto n = co_await evil->write(h, junk);
                if (!n) co_return;
            }
            while ((co_await evil->sleep(3600s)).has_value()) {
            }
        });
    }
    w.run_until([&] { return ends.size() == static_cast<std::size_t>(attackers); }, 10s);
    // Out of order: one-byte pieces scattered over the window beyond a hole at RCV.NXT,
    // `count` more on each connection every round, as long as the server takes them (a piece
    // it has no buffer for is where a NIC drops the rest of the burst).
    std::uint32_t pieces = 0;
    const auto flood_round = [&](std::uint32_t count) {
        const std::array<std::byte, 1> one{std::byte{'x'}};
        for (const auto& e : ends) {
            auto* s = server.stack().tcp().find({server_far_addr, port(sink_port)}, e);
            if (s == nullptr) continue;
            for (std::uint32_t k = 0; k < count; ++k) { // within the window of 128 KiB
                const std::uint32_t at = 2 + 2 * ((pieces + k) * 7919 % 60000);
                if (!inject(server, attacker_addr, e.port, server_far_addr, port(sink_port),
                            s->rcv_nxt().raw() + at, s->snd_nxt().raw(), tcp::flag::ack, one))
                    break;
                ++out.injected;
            }
        }
        pieces += count;
    };
    if (kind == flood::out_of_order) flood_round(300);
    int samples = 0;
    // Sampled before each round: its burst of duplicate ACKs (from the reserve, as control
    // traffic may) has left the NIC by then.
    const auto sample = [&] {
        out.receive.take(server, "tcp_receive_buffers");
        out.out_of_order.take(server, "tcp_out_of_order_buffers");
        if (kind == flood::out_of_order && ++samples % 10 == 0) flood_round(50);
    };
    aw.run_sampled(200, sample); // 2 s: the attackers fill what they may

    auto cli = aw.client.create_process("client");
    std::vector<std::byte> at_client;
    bool done = false;
    const auto start = w.now();
    cli->spawn([&]() -> task<void> {
        auto c = co_await cli->connect({b_addr, 80});
        if (!c) co_return;
        out.client_ok = co_await exchange(*cli, *c, upload, at_client);
        (void)cli->close(*c).get();
        done = true;
    });
    aw.run_sampled(6000, sample, [&] { return done && served; }); // at most 60 s
    out.client_time = w.now() - start;
    out.uploaded = at_server.size();
    out.downloaded = at_client.size();
    out.upload_intact = first_difference(at_server, upload) == file_size;
    out.download_intact = first_difference(at_client, download) == file_size;
    out.pressure_refusals = memory_gauge(server, "pressure_refusals");
    out.collapsed = tcp_counter("rcv_collapsed");
    out.reneged = tcp_counter("ofo_reneged");
    out.rcv_dropped = tcp_counter("rcv_dropped_memory");
    out.ofo_dropped_memory = tcp_counter("ofo_dropped_memory");

    // The server's end closes the connections it never read.
    out.in_use_after = aw.wind_down(*evil, *cli, *srv);
    out.queued_after = memory_gauge(server, "queued_buffers");
    return out;
}

void report(const outcome& o) {
    UNSCOPED_INFO("client: up "
                  << o.uploaded << ", down " << o.downloaded << " bytes in "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(o.client_time).count()
                  << " ms; fewest free buffers "
                  << std::min(o.receive.fewest_free, o.out_of_order.fewest_free)
                  << "; receive queues at most " << o.receive.most_queued
                  << ", out-of-order at most " << o.out_of_order.most_queued
                  << "; pressure refusals " << o.pressure_refusals << "; collapses " << o.collapsed
                  << "; reneged " << o.reneged << "; in-order drops " << o.rcv_dropped
                  << "; out-of-order drops " << o.ofo_dropped_memory << "; injected " << o.injected
                  << "; in use before " << o.in_use_before << ", after " << o.in_use_after);
}

void check_served(const outcome& o) {
    report(o);
    CHECK(o.client_ok);
    CHECK(o.uploaded == file_size);
    CHECK(o.downloaded == file_size);
    CHECK(o.upload_intact);
    CHECK(o.download_intact);
    CHECK(o.client_time < 30s);
    CHECK(o.receive.fewest_free > 256); // queues never reached the reserve
    CHECK(o.pressure_refusals > 0);
    CHECK(o.in_use_after == o.in_use_before);
    CHECK(o.queued_after == 0);
}

constexpr memory_limits whole_pool{.low = 4096, .pressure = 4096, .hard = 4096};

} // namespace

TEST_CASE("tcp memory: 32 senders of 300-byte segments nobody reads leave a client served",
          "[tcp][memory][adversarial]") {
    const auto o = run(flood::in_order, 32);
    check_served(o);
    CHECK(o.collapsed > 0);
    // The hard limit (2,880 buffers), plus a floor of 8 for each of the 33 queues.
    CHECK(o.receive.most_queued <= 2880 + 33 * 8);
}

TEST_CASE("tcp memory: an out-of-order flood on 32 connections leaves a client served",
          "[tcp][memory][adversarial]") {
    const auto o = run(flood::out_of_order, 32);
    check_served(o);
    CHECK(o.ofo_dropped_memory > 0);
    CHECK(o.out_of_order.most_queued <= 2880 + 33 * 8);
}

TEST_CASE("tcp memory: without the budget the same floods starve the client",
          "[tcp][memory][adversarial]") {
    for (const auto kind : {flood::in_order, flood::out_of_order}) {
        INFO((kind == flood::in_order ? "in order" : "out of order"));
        const auto o = run(kind, 32, whole_pool);
        report(o);
        CHECK(o.downloaded + o.uploaded < 2 * file_size);
        CHECK(std::min(o.receive.fewest_free, o.out_of_order.fewest_free) <= 256);
        CHECK(o.pressure_refusals == 0);
        CHECK(o.in_use_after == o.in_use_before);
    }
}

TEST_CASE("tcp memory: a lossy transfer of small segments under constant pressure stays "
          "byte-exact through collapses, reneging and drops",
          "[tcp][memory]") {
    // Both hosts' budgets so small (pressure at 40 buffers, hard at 60) that the connection's
    // queues are always at their share; the sender writes 400 bytes at a time with
    // TCP_NODELAY (a buffer each, where the window assumes 1,460 bytes a buffer) and the
    // reader takes what is there every 20 ms, over a link that loses and reorders: every
    // path above runs on live data, and none may lose or duplicate a byte, nor acknowledge
    // one it dropped.
    sim::host_options o;
    o.stack.memory = {.low = 30, .pressure = 40, .hard = 60, .floor = 8};
    sim::test_network net(
        {.seed = 3, .faults = {.loss = 0.02, .reorder = 0.02}, .host = o, .settle_arp = false});
    auto& w = net.world();
    auto& a = net.a();
    auto& b = net.b();
    const auto data = pattern(2 << 20, 31);
    std::vector<std::byte> got;
    bool finished = false;
    auto server = b.create_process("server");
    auto client = a.create_process("client");
    server->spawn([&]() -> task<void> {
        auto ls = server->listen({ipv4_any, 80}).get().value();
        auto c = co_await server->accept(ls);
        if (!c) co_return;
        std::vector<std::byte> buf(1 << 20);
        for (;;) {
            auto n = co_await server->read(*c, buf);
            if (!n || *n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
            if (!co_await server->sleep(20ms)) break;
        }
        (void)server->close(*c).get();
        finished = true;
    });
    client->spawn([&]() -> task<void> {
        auto h = client->socket(socket_type::stream).get().value();
        (void)client->set_socket_option(h, socket_option::no_delay, 1).get();
        if (!co_await client->connect(h, {b_addr, 80})) co_return;
        for (std::size_t off = 0; off < data.size(); off += 400) {
            const auto n = std::min<std::size_t>(400, data.size() - off);
            if (!co_await client->write_all(h, std::span(data).subspan(off, n))) co_return;
            if (!co_await client->sleep(50us)) co_return;
        }
        (void)client->close(h).get();
    });
    w.run_until([&] { return finished; }, 600s);
    const auto count = [&](const char* name) {
        return b.counters().find("tcp")->find(name)->value;
    };
    INFO("collapses "
         << count("rcv_collapsed") << " (" << count("rcv_collapsed_bytes") << " bytes), reneged "
         << count("ofo_reneged") << ", in-order drops " << count("rcv_dropped_memory")
         << ", out-of-order drops " << count("ofo_dropped_memory") << ", at "
         << std::chrono::duration_cast<std::chrono::milliseconds>(w.now().since_epoch).count()
         << " ms");
    CHECK(finished);
    CHECK(got.size() == data.size());
    CHECK(first_difference(got, data) == data.size());
    CHECK(count("rcv_collapsed") > 0);
    CHECK(count("ofo_reneged") > 0);
    CHECK(count("rcv_dropped_memory") > 0);
    CHECK(count("ofo_dropped_memory") > 0);
    server->terminate("test over");
    client->terminate("test over");
    w.run(server->join());
    w.run(client->join());
    w.run_for(61s);
    CHECK(memory_gauge(a, "queued_buffers") == 0);
    CHECK(memory_gauge(b, "queued_buffers") == 0);
}
