// A program outside coronet's tree: coronet-kv's server and client (copied from
// examples/kv) tested on the installed package's simulated network, as
// tests/examples/kv_test.cpp does in the tree: SET and GET under 2 % loss, a GET cut by its
// timeout in a 10 s partition and retried after the heal, a malformed request answered, and
// the lossy run replayed byte-identical. Prints "kv ok" when every check holds.
#include "examples/kv/kv_client.hpp"
#include "examples/kv/kv_server.hpp"
#include "protocols/sim/harness.hpp"

#include <cstdio>
#include <string>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        std::printf("FAILED: %s\n", what);
        ++failures;
    }
}

// 20 SETs and GETs by one client under 2 % loss; the values read back right in `good`.
void lossy(sim::test_network& net, kv::server& srv, int& good) {
    net.spawn_server(net.b(),
                     [&srv](process& p) -> task<void> { (void)co_await kv::serve(p, srv); });
    net.spawn_client(net.a(), [&net, &good](process& p) -> task<void> {
        auto c = co_await kv::client::connect(p, {net.address(net.b()), port{7070}}, 60s);
        if (!c) co_return;
        for (int i = 0; i < 20; ++i)
            if (!co_await c->set("k" + std::to_string(i), std::string(i * 40, 'v'))) co_return;
        for (int i = 0; i < 20; ++i) {
            auto v = co_await c->get("k" + std::to_string(i));
            if (v && *v && **v == std::string(i * 40, 'v')) ++good;
        }
    });
    check(static_cast<bool>(net.run()), "the lossy run ends");
}

} // namespace

int main() {
    const sim::network_options lossy_net{.seed = 1, .faults = {.loss = 0.02}};
    {
        kv::server srv;
        int good = 0;
        sim::test_network net(lossy_net);
        lossy(net, srv, good);
        check(good == 20, "20 values read back under loss");
    }
    {
        kv::server srv;
        int first = -1, retry = -1;
        std::string got;
        sim::test_network net({.seed = 2});
        net.spawn_server(net.b(),
                         [&srv](process& p) -> task<void> { (void)co_await kv::serve(p, srv); });
        net.spawn_client(net.a(), [&](process& p) -> task<void> {
            const endpoint server{net.address(net.b()), port{7070}};
            auto c = co_await kv::client::connect(p, server, 2s);
            if (!c || !co_await c->set("k", "kept")) co_return;
            net.partition(net.a(), net.b());
            net.heal_after(10s, net.a(), net.b());
            first = (co_await c->get("k")).error();
            (void)co_await p.sleep(9s); // past the heal
            auto again = co_await kv::client::connect(p, server, 2s);
            if (!again) co_return;
            auto v = co_await again->get("k");
            retry = v.error();
            if (v && *v) got = **v;
        });
        check(static_cast<bool>(net.run()), "the partitioned run ends");
        check(first == ETIMEDOUT, "the GET in the partition times out");
        check(retry == 0 && got == "kept", "the retry after the heal gets the value");
    }
    {
        kv::server srv;
        std::string got;
        sim::test_network net({.seed = 3});
        net.spawn_server(net.b(),
                         [&srv](process& p) -> task<void> { (void)co_await kv::serve(p, srv); });
        net.spawn_client(net.a(), [&](process& p) -> task<void> {
            auto c = p.own(co_await p.connect({net.address(net.b()), port{7070}}));
            if (!c) co_return;
            const std::string bad = "PUT k\nSET k x\n";
            if (!co_await p.write_all(*c, std::as_bytes(std::span(bad)))) co_return;
            std::array<std::byte, 256> buf;
            for (;;) {
                auto n = co_await p.read(*c, buf);
                if (!n || *n == 0) co_return;
                got.append(reinterpret_cast<const char*>(buf.data()), *n);
            }
        });
        check(static_cast<bool>(net.run()), "the malformed run ends");
        check(got == "ERROR unknown command\nERROR bad length\n", "malformed requests answered");
    }
    {
        kv::server srv; // outlives both networks
        int good = 0;
        const auto replay =
            sim::run_twice(lossy_net, [&](sim::test_network& net) { lossy(net, srv, good); });
        check(replay.identical, "the lossy run replays byte-identical");
    }
    if (failures != 0) return 1;
    std::puts("kv ok");
    return 0;
}
