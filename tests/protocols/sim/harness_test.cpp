// The public test harness (protocols/sim/harness.hpp), used as a user's test would: an echo
// server and client byte-exact under loss, a hung client reported by the time limit, a crash
// reported with its reason, one seed giving identical captures and another a different one,
// and partitions (both ways, one way) stalling a client until healed.
#include "protocols/sim/harness.hpp"
#include "tests/protocols/sim/echo.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coronet;
using coronet::sim_test::echo_server;
using coronet::sim_test::echo_session;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned salt) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 131 + salt) & 0xff);
    return v;
}

// Sends `out` on `c` and half-closes (a coroutine of its own, so a large echo cannot fill
// both ways and stall), while reading the echo into `in` until end of stream.
task<> send_and_read(process& p, handle c, const std::vector<std::byte>& out,
                     std::vector<std::byte>& in) {
    p.spawn([&p, c, &out]() -> task<void> {
        auto w = co_await p.write_all(c, out);
        if (w) (void)co_await p.shutdown(c, shutdown_how::write);
    });
    std::vector<std::byte> buf(4096);
    for (;;) {
        auto n = co_await p.read(c, buf);
        if (!n || *n == 0) co_return;
        in.insert(in.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
}

// A client of b:7 echoing `out` into `in`.
sim::test_network::body echo_client(sim::test_network& net, const std::vector<std::byte>& out,
                                    std::vector<std::byte>& in) {
    return [&net, &out, &in](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
        if (c) co_await send_and_read(p, *c, out, in);
    };
}

// The echo of 32 KiB, the scenario the replay checks run.
void echo_scenario(sim::test_network& net) {
    static const auto out = pattern(32 << 10, 1);
    std::vector<std::byte> in;
    net.spawn_server(net.b(), echo_server);
    net.spawn_client(net.a(), echo_client(net, out, in));
    auto r = net.run();
    REQUIRE(r);
    REQUIRE(in == out);
}

} // namespace

TEST_CASE("harness: an echo server and client, byte-exact under 2 % loss", "[sim][harness]") {
    sim::test_network net({.seed = 3, .faults = {.loss = 0.02}});
    const auto out = pattern(256 << 10, 1);
    std::vector<std::byte> in;
    net.spawn_server(net.b(), echo_server);
    net.spawn_client(net.a(), echo_client(net, out, in));
    auto r = net.run();
    INFO(r.describe());
    REQUIRE(r);
    CHECK(in == out);
    CHECK(net.link().stats().faults.lost.value > 0);
    CHECK(net.counter(net.a(), "tcp", "retrans_segs") +
              net.counter(net.b(), "tcp", "retrans_segs") >
          0);
    CHECK(net.counters(net.a()).find("tcp: retrans_segs") != std::string::npos);
}

TEST_CASE("harness: the README's example, a test of a server in a few lines", "[sim][harness]") {
    sim::test_network net({.faults = {.loss = 0.02}});
    net.spawn_server(net.b(), echo_server);
    std::string got;
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
        if (!c) co_return;
        (void)co_await p.write_all(*c, std::as_bytes(std::span("hello", 5)));
        std::array<std::byte, 5> buf;
        if (co_await p.read_exactly(*c, buf))
            got.assign(reinterpret_cast<const char*>(buf.data()), buf.size());
    });
    auto r = net.run();
    REQUIRE(r);
    REQUIRE(got == "hello");
}

TEST_CASE("harness: three hosts share a hub, two clients echo through one server",
          "[sim][harness]") {
    sim::test_network net({.hosts = 3, .seed = 4});
    CHECK(net.link().settings().kind == wire_kind::hub);
    CHECK(net.address(net.at(2)) == ipv4_address(10, 0, 0, 3));
    const auto from_a = pattern(20000, 1), from_c = pattern(30000, 2);
    std::vector<std::byte> at_a, at_c;
    net.spawn_server(net.b(), echo_server);
    net.spawn_client(net.a(), echo_client(net, from_a, at_a));
    net.spawn_client(net.at(2), echo_client(net, from_c, at_c));
    auto r = net.run();
    INFO(r.describe());
    REQUIRE(r);
    CHECK(at_a == from_a);
    CHECK(at_c == from_c);
    CHECK(net.counter(net.b(), "tcp", "passive_opens") == 2);
}

TEST_CASE("harness: the time limit reports a hung client by name, with the seed",
          "[sim][harness]") {
    sim::test_network net({.seed = 11, .time_limit = 10s});
    // A server that accepts and never answers: the client's read waits forever.
    net.spawn_server(net.b(), [](process& p) -> task<void> {
        auto ls = p.own(co_await p.listen({ipv4_any, 7}));
        auto conn = p.own(co_await p.accept(*ls));
        (void)co_await p.sleep(24h);
    });
    bool connected = false;
    net.spawn_client(
        net.a(),
        [&](process& p) -> task<void> {
            auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
            connected = c.has_value();
            std::vector<std::byte> buf(16);
            (void)co_await p.read(*c, buf);
        },
        "waiter");
    net.spawn_client(
        net.a(), [](process& p) -> task<void> { (void)co_await p.sleep(1s); }, "quick");
    const auto start = net.world().now();
    auto r = net.run();
    CHECK_FALSE(r);
    CHECK(connected);
    CHECK(r.hung == std::vector<std::string>{"a/waiter"});
    CHECK(r.crashed.empty());
    CHECK(r.at - start == 10s);
    CHECK(r.describe().find("a/waiter") != std::string::npos);
    CHECK(r.describe().find("CORONET_SEED=11") != std::string::npos);
}

TEST_CASE("harness: a client ended by an exception fails the run with its reason",
          "[sim][harness]") {
    sim::test_network net;
    net.spawn_client(net.a(), [](process& p) -> task<void> {
        (void)co_await p.sleep(1ms);
        throw std::runtime_error("bad reply");
    });
    auto r = net.run();
    CHECK_FALSE(r);
    CHECK(r.hung.empty());
    REQUIRE(r.crashed.size() == 1);
    CHECK(r.crashed[0].find("a/client: ") == 0);
    CHECK(r.crashed[0].find("bad reply") != std::string::npos);
}

TEST_CASE("harness: the seed comes from CORONET_SEED unless the test sets one", "[sim][harness]") {
    // The replay seed a run of this binary was given goes back for the cases after this one.
    const char* given = std::getenv("CORONET_SEED");
    const std::string saved = given != nullptr ? given : "";
    ::setenv("CORONET_SEED", "42", 1);
    CHECK(sim::test_network().seed() == 42);
    CHECK(sim::test_network({.seed = 5}).seed() == 5);
    ::setenv("CORONET_SEED", "4x", 1); // not a number: the default
    CHECK(sim::test_network().seed() == 1);
    ::unsetenv("CORONET_SEED");
    CHECK(sim::seed_from_env(9) == 9);
    if (given != nullptr) ::setenv("CORONET_SEED", saved.c_str(), 1);
}

TEST_CASE("harness: two runs with one seed capture the same bytes; another seed differs",
          "[sim][harness]") {
    const sim::network_options lossy{.seed = 7, .faults = {.loss = 0.02, .reorder = 0.02}};
    auto twice = sim::run_twice(lossy, echo_scenario);
    INFO(twice.describe());
    CHECK(twice.identical);
    CHECK(twice.first_size > 32 << 10); // the echo both ways is in it
    auto other = lossy;
    other.seed = 8;
    const auto a = sim::capture_of(lossy, echo_scenario);
    const auto b = sim::capture_of(other, echo_scenario);
    CHECK(a.size() == twice.first_size);
    CHECK(a != b);
}

TEST_CASE("harness: a partition stalls the client, healing lets it finish", "[sim][harness]") {
    sim::test_network net({.seed = 2, .time_limit = 10s});
    const auto out = pattern(32 << 10, 5);
    std::vector<std::byte> in;
    net.spawn_server(net.b(), echo_server);
    net.partition(net.a(), net.b());
    CHECK(net.link().is_cut(net.b().nic_at(0), net.a().nic_at(0)));
    net.spawn_client(net.a(), echo_client(net, out, in));
    auto stalled = net.run();
    CHECK_FALSE(stalled);
    CHECK(stalled.hung == std::vector<std::string>{"a/client"});
    CHECK(in.empty());
    const auto dropped = net.link().stats().dropped_partition.value;
    CHECK(dropped > 0);
    net.heal_after(3s, net.a(), net.b());
    auto healed = net.run();
    INFO(healed.describe());
    REQUIRE(healed);
    CHECK(in == out);
    CHECK(healed.at - stalled.at > 3s);
    CHECK(net.link().stats().dropped_partition.value == dropped);
}

TEST_CASE("harness: a one-way partition lets the server hear the client but not answer",
          "[sim][harness]") {
    sim::test_network net({.seed = 2, .time_limit = 20s});
    const auto out = pattern(1000, 6);
    std::vector<std::byte> at_server, in;
    net.spawn_server(net.b(), [&](process& p) -> task<void> {
        auto ls = p.own(co_await p.listen({ipv4_any, 7}));
        auto conn = p.own(co_await p.accept(*ls));
        if (conn) co_await echo_session(p, std::move(*conn), &at_server);
    });
    // From 1 s to 8 s b's frames (ACKs, the echo) are lost; a's arrive.
    net.partition_after(1s, net.b(), net.a(), sim::direction::one_way);
    net.heal_after(8s, net.b(), net.a(), sim::direction::one_way);
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
        if (!c) co_return;
        (void)co_await p.sleep(2s);
        co_await send_and_read(p, *c, out, in);
    });
    net.world().run_for(7s);
    CHECK(at_server == out);
    CHECK(in.empty());
    CHECK(net.link().is_cut(net.b().nic_at(0), net.a().nic_at(0)));
    CHECK_FALSE(net.link().is_cut(net.a().nic_at(0), net.b().nic_at(0)));
    auto r = net.run();
    INFO(r.describe());
    REQUIRE(r);
    CHECK(in == out);
}
