// A host crashing and restarting in the test harness (protocols/sim/harness.hpp): the
// crashed host sends nothing (no FIN, no RST), drops what reaches it, and after the restart
// answers an old connection's segment with a RST; a crashed client counts as ended; a peer
// keeps its half-open connection; the calls on a down host and the replay of a crash.
#include "protocols/sim/harness.hpp"
#include "tests/protocols/sim/echo.hpp"

#include <catch2/catch.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::sim_test::echo_server;

namespace {

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

// Sends `text` on `c` and reads its echo: true when it came back whole.
task<bool> echo_once(process& p, handle c, const std::string& text) {
    auto w = co_await p.write_all(c, bytes(text));
    if (!w) co_return false;
    std::string back(text.size(), '\0');
    auto r = co_await p.read_exactly(c, std::as_writable_bytes(std::span(back)));
    co_return r && back == text;
}

// A client of b:7 that echoes `text` once; `ok` when it came back.
sim::test_network::body echo_client(sim::test_network& net, std::string text, bool& ok) {
    return [&net, text = std::move(text), &ok](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
        if (c) ok = co_await echo_once(p, *c, text);
    };
}

} // namespace

TEST_CASE("a crashed server host sends nothing, drops what comes, and resets old connections "
          "once restarted",
          "[sim][harness][crash]") {
    sim::test_network net;
    auto& server = net.spawn_server(net.b(), echo_server);
    nic& b_nic = net.b().nic_at(0);
    bool first_echo = false, up_while_crashed = true, still_established = false;
    std::uint64_t sent_while_down = 1, dropped_while_down = 0;
    int after_restart = 0;
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
        if (!c) co_return;
        first_echo = co_await echo_once(p, *c, "hello");
        const auto sent_before = b_nic.stats().tx_frames.value;
        net.crash(net.b()); // from inside the run: the server's coroutines end at the next turns
        up_while_crashed = net.is_up(net.b());
        // Buffered here, retransmitted into a host that is not there.
        auto w = co_await p.write_all(*c, bytes("lost"));
        if (!w) co_return;
        (void)co_await sleep_for(3s);
        sent_while_down = b_nic.stats().tx_frames.value - sent_before;
        dropped_while_down = b_nic.stats().rx_dropped_no_receiver.value;
        auto info = p.tcp_info(*c);
        still_established = info && info->state == tcp_state::established;
        net.restart(net.b());
        // The next retransmission of "lost" reaches a stack that never heard of the connection.
        std::vector<std::byte> buf(16);
        auto n = co_await p.read(*c, buf);
        after_restart = n ? 0 : n.error();
    });
    auto r = net.run();
    CHECK(r); // the server ended by the crash is no failure
    CHECK(first_echo);
    CHECK_FALSE(up_while_crashed);
    CHECK(sent_while_down == 0); // neither FIN nor RST at the crash, nothing after it
    CHECK(dropped_while_down > 0);
    CHECK(still_established); // a silent crash: the peer cannot know
    CHECK(after_restart == ECONNRESET);
    CHECK(server.exit_reason() == "host b crashed");
    CHECK(server.running() == 0);
    CHECK(net.is_up(net.b()));
    CHECK(net.b().boots() == 1);
    CHECK(net.counter(net.b(), "tcp", "out_rsts") >= 1); // the new stack's counters
    CHECK(net.counter(net.b(), "tcp", "passive_opens") == 0);
}

TEST_CASE("a client on a crashed host counts as ended; its peer keeps a half-open connection; "
          "after a restart a new client connects",
          "[sim][harness][crash]") {
    sim::test_network net;
    net.spawn_server(net.b(), echo_server);
    bool echoed = false;
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
        if (!c) co_return;
        echoed = co_await echo_once(p, *c, "before");
        std::vector<std::byte> buf(16);
        (void)co_await p.read(*c, buf); // nothing comes: waits until the crash
    });
    net.crash_after(2s, net.a());
    auto r = net.run();
    CHECK(r);
    CHECK(r.hung.empty());
    CHECK(r.crashed.empty());
    CHECK(echoed);
    CHECK_FALSE(net.is_up(net.a()));
    CHECK(net.counter(net.b(), "tcp", "curr_estab") == 1);
    CHECK(net.counter(net.b(), "tcp", "estab_resets") == 0);

    net.restart(net.a());
    bool again = false;
    net.spawn_client(net.a(), echo_client(net, "after", again));
    CHECK(net.run());
    CHECK(again);
}

TEST_CASE("crash and restart from the test body: joined at once, calls on a down host, "
          "restart_after",
          "[sim][harness][crash]") {
    sim::test_network net;
    auto& server = net.spawn_server(net.b(), echo_server);
    net.world().run_for(10ms);
    net.crash(net.b());
    CHECK(server.running() == 0); // joined before crash() returned
    CHECK_FALSE(net.is_up(net.b()));
    CHECK_THROWS_AS(net.b().stack(), std::logic_error);
    net.crash(net.b()); // a host that is down cannot crash again: nothing happens
    int down_listen = 0;
    net.spawn_client(net.b(), [&](process& p) -> task<void> {
        auto ls = p.listen({ipv4_any, 8});
        down_listen = ls ? 0 : ls.error();
        co_return;
    });
    CHECK(net.run());
    CHECK(down_listen == ENETDOWN);

    net.restart_after(1s, net.b());
    net.world().run_for(2s);
    REQUIRE(net.is_up(net.b()));
    CHECK_THROWS_AS(net.restart(net.b()), std::logic_error);
    net.spawn_server(net.b(), echo_server); // servers do not come back by themselves
    bool echoed = false;
    net.spawn_client(net.a(), echo_client(net, "rebooted", echoed));
    CHECK(net.run());
    CHECK(echoed);
}

TEST_CASE("a run with a crash and a restart replays byte for byte", "[sim][harness][crash]") {
    auto scenario = [](sim::test_network& net) {
        net.spawn_server(net.b(), echo_server);
        net.spawn_client(net.a(), [&net](process& p) -> task<void> {
            auto c = p.own(co_await p.connect({net.address(net.b()), 7}));
            if (!c) co_return;
            (void)co_await echo_once(p, *c, "one");
            (void)co_await sleep_for(2s); // the crash comes at 1 s, the restart at 1.5 s
            std::vector<std::byte> buf(16);
            (void)co_await p.write_all(*c, bytes("two"));
            (void)co_await p.read(*c, buf);
        });
        net.crash_after(1s, net.b());
        net.restart_after(1500ms, net.b());
        (void)net.run();
    };
    auto check = sim::run_twice({.seed = 11}, scenario);
    CHECK(check.identical);
    CHECK(check.first_size > 0);
}
