// The native stack on several shards of one host (steering.hpp), on one thread and one
// virtual clock: a plain client host and a sharded host on one wire, the sharded one behind a
// multiqueue_port that steers received frames as Linux's tun does.
#include "tests/protocols/stack/echo.hpp"
#include "tests/protocols/stack/sharded_host.hpp"

#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::steer_test;
using coronet::tcp_test::pattern;
using coronet::tcp_test::prefix;
using namespace std::chrono_literals;

namespace {

const ipv4_address client_ip(10, 0, 0, 1), server_ip(10, 0, 0, 2);
const endpoint service{server_ip, 80};

struct fixture {
    explicit fixture(unsigned shards, std::uint64_t seed = 1)
        : buffers(shards), w({.seed = seed}),
          link(w.add_wire({.latency = 1ms, .bandwidth_bps = 1'000'000'000})),
          peer(w.add_host("peer")), host(w, link, buffers, prefix("10.0.0.2/24"), seed) {
        w.connect(peer, link, prefix("10.0.0.1/24"));
    }
    host_buffers buffers;
    sim::world w;
    wire& link;
    sim::host& peer;
    sharded_host host;
    std::uint64_t peer_counter(const char* group, const char* name) {
        return peer.counters().find(group)->find(name)->value;
    }
};

// An echo server on `at` in process `p`; each peer it accepted is pushed on `peers`.
void serve(process& p, std::vector<endpoint>& peers, endpoint at = service) {
    p.spawn([&p, &peers, at]() -> task<void> {
        auto ls = p.own(co_await p.listen(at));
        if (!ls) co_return;
        for (;;) {
            auto c = co_await p.accept(ls->get());
            if (!c) co_return;
            peers.push_back(p.get_peer_name(*c).get().value());
            p.spawn(echo(p, *c));
        }
    });
}

// An echo server on every shard of `h`.
struct shard_servers {
    explicit shard_servers(sharded_host& h) : peers(h.count) {
        for (unsigned i = 0; i < h.count; ++i) {
            procs.push_back(process::create("shard" + std::to_string(i), h.stacks[i].get()));
            serve(*procs.back(), peers[i]);
        }
    }
    void stop(sim::world& w) {
        for (auto& p : procs) {
            p->terminate("test over");
            w.run(p->join());
        }
    }
    std::vector<ref<process>> procs;
    std::vector<std::vector<endpoint>> peers; // per shard
};

// Whether the port's hash puts a new flow from `client` on a queue other than its owner's.
bool lands_elsewhere(const sharded_host& h, const endpoint& client) {
    const auto& owner = h.stacks[0]->owner();
    return h.port->hash_queue({client, service, 6}) != owner.of(service, client);
}

} // namespace

TEST_CASE("steering: 64 connections to a sharded server spread, SYNs on the wrong shard forwarded",
          "[stack][steering]") {
    const unsigned shards = GENERATE(2u, 4u);
    fixture f(shards);
    shard_servers servers(f.host);
    auto client = f.peer.create_process("client");
    int good = 0;
    for (unsigned i = 0; i < 64; ++i)
        client->spawn([&, i]() -> task<void> {
            auto c = co_await client->connect(service);
            if (!c) co_return;
            const bool ok = co_await round_trip(*client, *c, pattern(1000 + 97 * i, i));
            if (ok) ++good;
        });
    f.w.run(client->join());
    servers.stop(f.w);
    CHECK(good == 64);

    std::uint64_t misplaced = 0;
    std::size_t accepted = 0;
    for (unsigned s = 0; s < shards; ++s) {
        INFO("shard " << s);
        CHECK(!servers.peers[s].empty());
        accepted += servers.peers[s].size();
        for (const auto& client_end : servers.peers[s]) {
            CHECK(f.host.stacks[s]->owner().of(service, client_end) == s);
            if (lands_elsewhere(f.host, client_end)) ++misplaced;
        }
    }
    CHECK(accepted == 64);
    CHECK(misplaced > 0);
    // Each misplaced SYN once; every later segment came on its owner's queue.
    CHECK(f.peer_counter("tcp", "retrans_segs") == 0);
    CHECK(f.host.sum("tcp_forwarded_out") == misplaced);
    CHECK(f.host.sum("injected") == misplaced + f.host.sum("arp_forwarded_out"));
    CHECK(f.host.sum("forward_dropped") == 0);
    CHECK(f.host.port->stats().rx_by_flow_table.value > 0);
}

TEST_CASE("steering: active opens pick ports their shard owns, nothing is forwarded",
          "[stack][steering]") {
    fixture f(2);
    auto server = f.peer.create_process("server");
    std::vector<endpoint> peers;
    const endpoint remote{client_ip, 80}; // the plain host serves here
    serve(*server, peers, remote);
    std::vector<ref<process>> clients;
    std::vector<std::vector<endpoint>> locals(2);
    int good = 0;
    for (unsigned s = 0; s < 2; ++s) {
        clients.push_back(process::create("client" + std::to_string(s), f.host.stacks[s].get()));
        auto& p = *clients.back();
        for (unsigned i = 0; i < 16; ++i)
            p.spawn([&, s, i]() -> task<void> {
                auto c = co_await p.connect(remote);
                if (!c) co_return;
                locals[s].push_back(p.get_socket_name(*c).get().value());
                const bool ok = co_await round_trip(p, *c, pattern(500 + 31 * i, 100 * s + i));
                if (ok) ++good;
            });
    }
    for (auto& p : clients)
        f.w.run(p->join());
    server->terminate("test over");
    f.w.run(server->join());
    CHECK(good == 32);
    for (unsigned s = 0; s < 2; ++s) {
        REQUIRE(locals[s].size() == 16);
        for (const auto& l : locals[s])
            CHECK(f.host.stacks[s]->owner().of(l, remote) == s);
    }
    CHECK(f.host.sum("tcp_forwarded_out") == 0);
    CHECK(f.host.sum("injected") == f.host.sum("arp_forwarded_out"));
    CHECK(f.host.sum("forward_dropped") == 0);
}

TEST_CASE("steering: a segment steered to the wrong shard mid-connection is forwarded",
          "[stack][steering]") {
    fixture f(2);
    shard_servers servers(f.host);
    auto client = f.peer.create_process("client");
    const auto first = pattern(3000, 1), second = pattern(700, 2);
    std::vector<std::byte> echoed;
    std::uint64_t forwarded_before_flip = 0;
    bool done = false;
    client->spawn([&]() -> task<void> {
        auto c = co_await client->connect(service);
        if (!c) co_return;
        const endpoint me = client->get_socket_name(*c).get().value();
        auto w = co_await client->write_all(*c, first);
        if (!w) co_return;
        std::vector<std::byte> buf(4096);
        while (echoed.size() < first.size()) {
            auto n = co_await client->read(*c, buf);
            if (!n || *n == 0) co_return;
            echoed.insert(echoed.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        // The NIC moves the flow to the shard that does not own it.
        forwarded_before_flip = f.host.sum("tcp_forwarded_out");
        const unsigned owner = f.host.stacks[0]->owner().of(service, me);
        f.host.port->steer({me, service, 6}, 1 - owner);
        const bool ok = co_await round_trip(*client, *c, second);
        echoed.insert(echoed.end(), second.begin(), second.end());
        done = ok;
    });
    f.w.run(client->join());
    servers.stop(f.w);
    CHECK(done);
    CHECK(echoed.size() == first.size() + second.size());
    const auto after = f.host.sum("tcp_forwarded_out");
    CHECK(after > forwarded_before_flip);
    CHECK(f.host.sum("injected") >= after);
    CHECK(f.host.sum("forward_dropped") == 0);
}

TEST_CASE("steering: a refused forward drops the SYN, the retransmission gets through",
          "[stack][steering]") {
    fixture f(2);
    shard_servers servers(f.host);
    // A client port whose SYN the port puts on the shard that does not own the connection.
    std::uint16_t chosen = 40000;
    while (!lands_elsewhere(f.host, {client_ip, chosen}))
        ++chosen;
    REQUIRE(f.w.run(f.peer.stack().ping(server_ip, 56, 1s)).has_value()); // ARP settled
    for (auto& box : f.host.boxes)
        box->refuse = 1;
    auto client = f.peer.create_process("client");
    bool ok = false;
    client->spawn([&]() -> task<void> {
        auto h = client->socket(socket_type::stream).get();
        if (!h) co_return;
        if (!client->bind(*h, {client_ip, chosen}).get()) co_return;
        auto c = co_await client->connect(*h, service);
        if (!c) co_return;
        ok = co_await round_trip(*client, *h, pattern(5000, 9));
    });
    f.w.run(client->join());
    servers.stop(f.w);
    CHECK(ok);
    CHECK(f.host.sum("forward_dropped") == 1);
    CHECK(f.host.sum("tcp_forwarded_out") == 1); // the retransmitted SYN
    CHECK(f.peer_counter("tcp", "retrans_segs") >= 1);
}

TEST_CASE("steering: every shard learns the peer's ARP, one answers; ping is answered",
          "[stack][steering]") {
    const unsigned shards = GENERATE(2u, 4u);
    fixture f(shards);
    const auto rtt = f.w.run(f.peer.stack().ping(server_ip, 56, 1s));
    CHECK(rtt.has_value());
    std::uint64_t replies = 0;
    for (unsigned s = 0; s < shards; ++s) {
        INFO("shard " << s);
        CHECK(f.host.stacks[s]->at(0).arp().lookup(client_ip) != nullptr);
        replies += f.host.registries[s]->find("arp")->find("out_replies")->value;
    }
    CHECK(replies == 1);
    CHECK(f.peer_counter("arp", "in_replies") == 1);
    CHECK(f.host.sum("arp_forwarded_out") >= shards - 1);
    CHECK(f.host.sum("forward_dropped") == 0);
}

TEST_CASE("steering: one shard is the stack as before", "[stack][steering]") {
    tcp_test::pair_world p;
    p.b.stack().set_steering(0, 1, nullptr);
    CHECK(p.b.stack().steering_stats() == nullptr);
    CHECK(p.b.counters().find("shard") == nullptr);
    CHECK(p.w.run(p.a.stack().ping(server_ip, 56, 1s)).has_value());
    CHECK_THROWS_AS(p.b.stack().set_steering(2, 2, nullptr), std::invalid_argument);
}
