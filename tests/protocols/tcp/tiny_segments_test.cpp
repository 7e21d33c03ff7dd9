// A peer that sends 1-byte segments must not pin a pool buffer per byte. Out of order (one
// byte in every other position of the window) the reassembly queue stops at its block budget
// and drops the rest (counted); in order, small payloads are copied into the room after the
// buffered data. Either way the host's packet pool keeps nearly all its buffers, and the
// connection then carries its real data intact. (The attacker's bytes are the stream's own
// at those offsets, so the integrity check tests the bounds, not TCP's lack of defence
// against blind in-window data.)
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

struct victim_world {
    pair_world pw;
    std::vector<std::byte> data = pattern(256 << 10, 21);
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    std::vector<std::byte> got;
    bool reading = false; // the server reads only once the flood is over
    bool done = false;
    bool go = false;
    handle conn{};
    endpoint client_end{};
    tcp::socket* victim = nullptr;
    std::uint32_t base = 0; // the stream's first sequence number

    static tcp::config no_tuning() {
        tcp::config c;
        c.auto_tune = false;
        return c;
    }
    victim_world() : pw({}, no_tuning()) {
        server->spawn([this]() -> task<void> {
            auto ls = server->listen({ipv4_any, 80}).get().value();
            auto c = (co_await server->accept(ls)).value();
            while (!reading)
                if (!co_await server->sleep(1ms)) co_return; // cancelled: the test is over
            std::vector<std::byte> buf(65536);
            for (;;) {
                auto n = co_await server->read(c, buf);
                if (!n || *n == 0) break;
                got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
            }
            done = true;
        });
        client->spawn([this]() -> task<void> {
            conn = (co_await client->connect({b_addr, 80})).value();
            while (!go)
                if (!co_await client->sleep(1ms)) co_return;
            (void)co_await client->write_all(conn, data);
            (void)client->close(conn).get();
        });
        pw.w.run_for(100ms);
        client_end = client->get_socket_name(conn).get().value();
        victim = pw.b.stack().tcp().find({b_addr, port(80)}, client_end);
        REQUIRE(victim != nullptr);
        base = victim->rcv_nxt().raw();
    }
    ~victim_world() {
        server->terminate("test over");
        client->terminate("test over");
        pw.w.run(server->join());
        pw.w.run(client->join());
    }
    void one_byte_at(std::size_t off) {
        inject(pw.b, a_addr, client_end.port, b_addr, port(80), base + static_cast<std::uint32_t>(off),
               victim->snd_nxt().raw(), tcp::flag::ack, std::span(data).subspan(off, 1));
    }
    void finish() {
        go = true;
        reading = true;
        pw.w.run_until([this] { return done; }, 600s);
        CHECK(got.size() == data.size());
        CHECK(first_difference(got, data) == data.size());
    }
};

} // namespace

TEST_CASE("tcp adversarial: 1-byte segments out of order stop at the reassembly budget",
          "[tcp][adversarial]") {
    victim_world v;
    const std::size_t free_before = v.pw.b.pool().available();
    for (std::size_t off = 2; off < 120 << 10; off += 2) v.one_byte_at(off);
    v.pw.w.run_for(10ms); // the victim's duplicate ACKs leave the wire
    const std::size_t max_blocks = v.victim->reassembly().max_blocks();
    CHECK(v.victim->reassembly().block_count() == max_blocks);
    CHECK(max_blocks == (128 << 10) / tcp::reassembly_queue::block_charge);
    CHECK(v.pw.tcp_counter(v.pw.b, "ofo_dropped") > 50000);
    // One buffer per queued block, and a few in flight: the pool is nearly whole.
    CHECK(v.pw.b.pool().available() + max_blocks + 64 >= free_before);
    v.finish();
}

TEST_CASE("tcp adversarial: 1-byte segments in order are copied together, not a buffer each",
          "[tcp][adversarial]") {
    victim_world v;
    const std::size_t free_before = v.pw.b.pool().available();
    for (std::size_t off = 0; off < 60000; ++off) v.one_byte_at(off);
    v.pw.w.run_for(10ms);
    CHECK(v.victim->rcv_nxt().raw() == v.base + 60000);
    // 60,000 bytes in 2 KiB buffers: about 30 of them, not 60,000.
    CHECK(v.pw.b.pool().available() + 64 >= free_before);
    // The server reads the 60,000 bytes whole, in order.
    v.reading = true;
    v.pw.w.run_for(1s);
    REQUIRE(v.got.size() == 60000);
    CHECK(std::equal(v.got.begin(), v.got.end(), v.data.begin()));
}
