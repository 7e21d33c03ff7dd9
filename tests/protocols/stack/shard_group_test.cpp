// The sharded native host on shard_group (protocols/sim/shard_host.hpp): each server shard on
// its own scheduler, forwarding with try_post, all on one virtual clock; and a run replays
// byte for byte from its seed.
#include "protocols/sim/shard_host.hpp"
#include "tests/protocols/stack/echo.hpp"
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

using namespace coronet;
using namespace coronet::steer_test;
using coronet::tcp_test::pattern;
using coronet::tcp_test::prefix;

namespace {

const endpoint service{ipv4_address(10, 0, 0, 2), 80};

// What one run left: the checks' figures and a trace of it.
struct outcome {
    int good = 0;
    std::vector<std::size_t> accepted; // per server shard
    std::size_t misplaced = 0;         // accepted flows whose SYN the port put elsewhere
    bool owners_right = true;          // every flow accepted on the shard owning it
    std::uint64_t retrans = 0, forwarded = 0, injected = 0, arp_forwarded = 0, dropped = 0;
    std::uint64_t by_flow_table = 0, posts_refused = 0;
    std::uint64_t server_shards_sent = 0; // messages the server shards sent (posts, replies)
    std::string trace;                    // accepts (shard, virtual time, peer), then every counter
};

std::string now_ns() { return std::to_string(scheduler::current().now().since_epoch.count()); }

outcome run(unsigned server_shards, std::uint64_t seed) {
    outcome out;
    out.accepted.resize(server_shards);
    sim::shard_host_buffers buffers(server_shards);
    shard_group group({.count = server_shards + 1, .mode = shard_mode::simulated});
    group.run([&](shard& s) -> task<void> {
        if (s.id() != 0) co_return; // the other shards serve messages until shard 0 is done
        sim::shard_host host(group, buffers,
                             {.client_address = prefix("10.0.0.1/24"),
                              .server_address = prefix("10.0.0.2/24"),
                              .seed = seed});
        std::vector<std::optional<ref<process>>> servers(server_shards);
        for (unsigned i = 0; i < server_shards; ++i)
            co_await submit_to(sim::shard_host::group_shard(i), [&, i] {
                auto& p = servers[i].emplace(
                    process::create("shard" + std::to_string(i), host.stacks[i].get()));
                p->spawn([&, i, &p = *p]() -> task<void> {
                    auto ls = p.own(co_await p.listen(service));
                    if (!ls) co_return;
                    for (;;) {
                        auto c = co_await p.accept(ls->get());
                        if (!c) co_return;
                        const endpoint peer = p.get_peer_name(*c).get().value();
                        out.trace += "accept " + std::to_string(shard::current().id()) + " " +
                                     now_ns() + " " + to_string(peer) + "\n";
                        ++out.accepted[i];
                        if (host.stacks[0]->owner().of(service, peer) != i)
                            out.owners_right = false;
                        if (host.port->hash_queue({peer, service, 6}) != i) ++out.misplaced;
                        p.spawn(echo(p, *c));
                    }
                });
            });
        auto client = process::create("client", &host.client());
        for (unsigned i = 0; i < 64; ++i)
            client->spawn([&, i]() -> task<void> {
                auto c = co_await client->connect(service);
                if (!c) co_return;
                const bool ok = co_await round_trip(*client, *c, pattern(1000 + 97 * i, i));
                if (ok) ++out.good;
            });
        co_await client->join();
        for (unsigned i = 0; i < server_shards; ++i)
            co_await submit_to(sim::shard_host::group_shard(i), [&, i]() -> task<void> {
                (*servers[i])->terminate("test over");
                co_await (*servers[i])->join();
            });
        out.retrans = host.client_counters.find("tcp")->find("retrans_segs")->value;
        out.forwarded = host.sum("tcp_forwarded_out");
        out.injected = host.sum("injected");
        out.arp_forwarded = host.sum("arp_forwarded_out");
        out.dropped = host.sum("forward_dropped");
        out.by_flow_table = host.port->stats().rx_by_flow_table.value;
        out.trace +=
            "end " + now_ns() + "\n" + host.client_counters.dump() + host.port_registry.dump();
        for (auto& r : host.registries)
            out.trace += r->dump();
    });
    for (unsigned i = 0; i < group.size(); ++i)
        out.posts_refused += group.at(i).stats().posts_refused;
    for (unsigned i = 0; i < server_shards; ++i)
        out.server_shards_sent += group.at(sim::shard_host::group_shard(i)).stats().sent;
    return out;
}

} // namespace

TEST_CASE("shard_group host: 64 connections spread over the shards, wrong-shard SYNs posted over",
          "[stack][steering][shard]") {
    const unsigned shards = GENERATE(2u, 4u);
    INFO(shards << " server shards");
    const outcome o = run(shards, 1);
    CHECK(o.good == 64);
    std::size_t accepted = 0;
    for (unsigned s = 0; s < shards; ++s) {
        INFO("shard " << s);
        CHECK(o.accepted[s] > 0);
        accepted += o.accepted[s];
    }
    CHECK(accepted == 64);
    CHECK(o.owners_right);
    CHECK(o.misplaced > 0);
    // Each misplaced SYN crossed once, by try_post; every later segment came on its owner's queue.
    CHECK(o.retrans == 0);
    CHECK(o.forwarded == o.misplaced);
    CHECK(o.injected == o.misplaced + o.arp_forwarded);
    CHECK(o.arp_forwarded >= shards - 1);
    CHECK(o.dropped == 0);
    CHECK(o.posts_refused == 0);
    // Every forward was a message between shards; besides them, the replies to shard 0's two
    // submit_to calls per shard (start the server, stop it).
    CHECK(o.server_shards_sent == o.forwarded + o.arp_forwarded + 2 * shards);
    CHECK(o.by_flow_table > 0);
}

TEST_CASE("shard_group host: the same seed replays the run byte for byte, another seed differs",
          "[stack][steering][shard]") {
    const outcome a = run(4, 7), b = run(4, 7), c = run(4, 8);
    REQUIRE(a.good == 64);
    CHECK(a.trace.size() > 64 * 20);
    CHECK(a.trace == b.trace);
    CHECK(a.trace != c.trace);
}
