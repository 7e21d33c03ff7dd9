// coronet-kv's server and client on the simulated network (protocols/sim/harness.hpp), each
// case deterministic (a fixed seed, virtual time): SET/GET/DEL, many clients, 5 % loss,
// reordering, a 10 s partition outlived by a request and one cut by the client's timeout
// and retried, malformed and oversized input answered byte-exact, the store's and the
// connections' bounds, the idle timeout, a crash and restart of the server's host (the
// store comes back empty), and one scenario replayed byte-identical.
#include "examples/kv/kv_client.hpp"
#include "examples/kv/kv_server.hpp"
#include "protocols/sim/harness.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

// Declared before the network in each case: its sockets hold the server's reply buffers,
// and its clients write into what the case reads afterwards.
sim::test_network::body kv_server(kv::server& srv) {
    return [&srv](process& p) -> task<void> { (void)co_await kv::serve(p, srv); };
}

endpoint kv_address(sim::test_network& net) { return {net.address(net.b()), port{7070}}; }

// A raw connection that sends `bytes`, half-closes, and keeps what comes back until the
// server closes (or 30 s pass).
struct raw_result {
    std::string got;
    bool closed = false; // the server's FIN came
};
sim::test_network::body raw_client(sim::test_network& net, std::string bytes, raw_result& out) {
    return [&net, bytes = std::move(bytes), &out](process& p) -> task<void> {
        auto c = p.own(co_await p.connect(kv_address(net)));
        if (!c) co_return;
        (void)p.set_socket_option(*c, socket_option::receive_timeout, 30'000);
        if (!co_await p.write_all(*c, std::as_bytes(std::span(bytes)))) co_return;
        (void)p.shutdown(*c, shutdown_how::write);
        std::array<std::byte, 4096> buf;
        for (;;) {
            auto n = co_await p.read(*c, buf);
            if (!n) co_return;
            if (*n == 0) break;
            out.got.append(reinterpret_cast<const char*>(buf.data()), *n);
        }
        out.closed = true;
    };
}

std::string value_of(int client, int i) {
    return "value " + std::to_string(client) + "/" + std::to_string(i) +
           std::string(i % 7 * 50, 'x');
}

// `clients` clients on host a, each SETting `ops` keys of its own and reading them back; the
// number of values read back right lands in `good`.
void set_and_get(sim::test_network& net, int clients, int ops, int& good) {
    for (int c = 0; c < clients; ++c) {
        net.spawn_client(
            net.a(),
            [&net, c, ops, &good](process& p) -> task<void> {
                auto kv = co_await kv::client::connect(p, kv_address(net), 60s);
                if (!kv) co_return;
                for (int i = 0; i < ops; ++i) {
                    const auto key = "c" + std::to_string(c) + ":" + std::to_string(i);
                    auto s = co_await kv->set(key, value_of(c, i));
                    if (!s) co_return;
                }
                for (int i = 0; i < ops; ++i) {
                    auto v = co_await kv->get("c" + std::to_string(c) + ":" + std::to_string(i));
                    if (v && *v && **v == value_of(c, i)) ++good;
                }
            },
            "client " + std::to_string(c));
    }
}

// What four_clients saw.
struct faulty_run {
    bool finished = false;
    int good = 0; // of 200 values read back
    std::uint64_t requests = 0, lost = 0, reordered = 0, retransmitted = 0;
};

// 4 clients' 200 SETs and 200 GETs on a network of `opts` (its faults counted by the wire).
faulty_run four_clients(const sim::network_options& opts) {
    kv::server srv;
    faulty_run out;
    sim::test_network net(opts);
    net.spawn_server(net.b(), kv_server(srv));
    set_and_get(net, 4, 50, out.good);
    out.finished = static_cast<bool>(net.run());
    out.requests = srv.requests;
    out.lost = net.link().faults().counters().lost.value;
    out.reordered = net.link().faults().counters().reordered.value;
    out.retransmitted =
        net.counter(net.a(), "tcp", "retrans_segs") + net.counter(net.b(), "tcp", "retrans_segs");
    return out;
}

} // namespace

TEST_CASE("kv: SET, GET and DEL, a missing key, a binary value", "[examples][kv]") {
    kv::server srv;
    std::vector<std::string> log;
    sim::test_network net({.seed = 1});
    net.spawn_server(net.b(), kv_server(srv));
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = co_await kv::client::connect(p, kv_address(net));
        if (!c) co_return;
        const std::string binary("a\0b\nc\r\n", 7);
        auto s = co_await c->set("k", binary);
        log.push_back(s ? "stored" : s.message());
        auto v = co_await c->get("k");
        log.push_back(v && *v ? **v : "?");
        auto missing = co_await c->get("nope");
        log.push_back(missing && !*missing ? "not found" : "?");
        auto d = co_await c->del("k");
        log.push_back(d && *d ? "deleted" : "?");
        auto again = co_await c->del("k");
        log.push_back(again && !*again ? "not found" : "?");
        auto bad = co_await c->get("two words");
        log.push_back(bad.error() == EINVAL ? "EINVAL" : "?");
        auto big = co_await c->set("k", std::string(kv::max_value + 1, 'v'));
        log.push_back(big.error() == EMSGSIZE ? "EMSGSIZE" : "?");
        log.push_back(c->connected() ? "connected" : "closed"); // neither was sent
    });
    auto r = net.run();
    REQUIRE(r);
    CHECK(log == std::vector<std::string>{"stored", std::string("a\0b\nc\r\n", 7), "not found",
                                          "deleted", "not found", "EINVAL", "EMSGSIZE",
                                          "connected"});
    CHECK(srv.requests == 5);
    CHECK(srv.errors == 0);
}

TEST_CASE("kv: 16 clients on two hosts, each value read back by another client", "[examples][kv]") {
    kv::server srv;
    int good = 0;
    sim::test_network net({.hosts = 3, .seed = 2});
    net.spawn_server(net.b(), kv_server(srv));
    for (int c = 0; c < 16; ++c) {
        // Client c sets k<c>, then waits until k<(c+1)%16>, set by another, is there.
        net.spawn_client(
            net.at(c % 2 == 0 ? 0 : 2),
            [&net, c, &good](process& p) -> task<void> {
                auto kv = co_await kv::client::connect(p, kv_address(net));
                if (!kv) co_return;
                if (!co_await kv->set("k" + std::to_string(c), value_of(c, c))) co_return;
                const int next = (c + 1) % 16;
                for (int tries = 0; tries < 100; ++tries) {
                    auto v = co_await kv->get("k" + std::to_string(next));
                    if (!v) co_return;
                    if (*v) {
                        if (**v == value_of(next, next)) ++good;
                        co_return;
                    }
                    (void)co_await p.sleep(10ms);
                }
            },
            "client " + std::to_string(c));
    }
    auto r = net.run();
    REQUIRE(r);
    CHECK(good == 16);
    CHECK(srv.accepted == 16);
}

TEST_CASE("kv: under 5 % loss, 4 clients' 400 requests are all answered right",
          "[examples][kv][faults]") {
    const auto f = four_clients({.seed = 3, .faults = {.loss = 0.05}});
    REQUIRE(f.finished);
    CHECK(f.good == 200);
    CHECK(f.requests == 400);
    CHECK(f.lost > 0);
    CHECK(f.retransmitted > 0);
}

TEST_CASE("kv: under 5 % reordering, 4 clients' 400 requests are all answered right",
          "[examples][kv][faults]") {
    const auto f = four_clients({.seed = 4, .faults = {.reorder = 0.05}});
    REQUIRE(f.finished);
    CHECK(f.good == 200);
    CHECK(f.requests == 400);
    CHECK(f.reordered > 0);
}

TEST_CASE("kv: a SET sent into a 10 s partition completes after the heal, within its 30 s "
          "timeout",
          "[examples][kv][partition]") {
    kv::server srv;
    std::string got;
    time_point partitioned{}, stored_at{};
    sim::test_network net({.seed = 5});
    net.spawn_server(net.b(), kv_server(srv));
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = co_await kv::client::connect(p, kv_address(net), 30s);
        if (!c) co_return;
        net.partition(net.a(), net.b());
        net.heal_after(10s, net.a(), net.b());
        partitioned = net.world().now();
        auto s = co_await c->set("k", "survives");
        if (!s) {
            got = s.message();
            co_return;
        }
        stored_at = net.world().now();
        auto v = co_await c->get("k");
        if (v && *v) got = **v;
    });
    auto r = net.run();
    REQUIRE(r);
    CHECK(got == "survives");
    // TCP retransmitted the request through the partition: done at the first retransmission
    // after the heal (the RTO doubling from 200 ms: 12.8 s in), within the client's 30 s.
    CHECK(stored_at - partitioned >= 10s);
    CHECK(stored_at - partitioned < 13s);
    CHECK(srv.accepted == 1); // the same connection throughout
}

TEST_CASE("kv: a GET in a 10 s partition times out after 2 s with ETIMEDOUT, and a retry "
          "after the heal succeeds",
          "[examples][kv][partition]") {
    kv::server srv;
    std::vector<int> errors; // of each attempt, in order
    std::string got;
    time_point partitioned{}, done{};
    sim::test_network net({.seed = 6});
    net.spawn_server(net.b(), kv_server(srv));
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        {
            auto c = co_await kv::client::connect(p, kv_address(net), 2s);
            if (!c || !co_await c->set("k", "kept")) co_return;
            net.partition(net.a(), net.b());
            net.heal_after(10s, net.a(), net.b());
            partitioned = net.world().now();
            auto v = co_await c->get("k");
            errors.push_back(v.error());
            if (c->connected()) co_return; // a timed-out client must have let go
        }
        // Retry: a new connection and the GET again, 1.5 s apart, until one answers.
        for (int attempt = 0; attempt < 30; ++attempt) {
            (void)co_await p.sleep(1500ms);
            auto c = co_await kv::client::connect(p, kv_address(net), 2s);
            if (!c) {
                errors.push_back(c.error());
                continue;
            }
            auto v = co_await c->get("k");
            errors.push_back(v.error());
            if (v && *v) {
                got = **v;
                done = net.world().now();
                co_return;
            }
        }
    });
    auto r = net.run();
    REQUIRE(r);
    CHECK(got == "kept"); // the server kept its store: only the network failed
    // The GET at 0-2 s, connects at 3.5-5.5 s and 7-9 s (their SYNs lost), then at 10.5 s
    // a connect and GET that succeed.
    CHECK(errors == std::vector<int>{ETIMEDOUT, ETIMEDOUT, ETIMEDOUT, 0});
    CHECK(done - partitioned >= 10s);
    CHECK(done - partitioned < 11s);
}

TEST_CASE("kv: malformed requests are answered byte-exact; those that lose the framing close "
          "the connection",
          "[examples][kv][malformed]") {
    struct row {
        std::string sent;
        std::string reply;
    };
    // Each ends with a valid GET: answered only when the connection stayed open.
    const row rows[] = {
        {"PUT k\nGET k\n", "ERROR unknown command\nNOT_FOUND\n"},
        {"GET a b\nGET k\n", "ERROR bad request\nNOT_FOUND\n"},
        {"GET " + std::string(251, 'k') + "\nGET k\n", "ERROR bad key\nNOT_FOUND\n"},
        {"SET " + std::string(251, 'k') + " 3\nabc\nGET k\n", "ERROR bad key\nNOT_FOUND\n"},
        {"SET k 3\nabcGET k\n", "ERROR bad data chunk\n"},
        {"SET k x\nabc\nGET k\n", "ERROR bad length\n"},
        {"SET k 4097\n" + std::string(4097, 'v') + "\nGET k\n", "ERROR value too large\n"},
        {std::string(600, 'a') + "\nGET k\n", "ERROR line too long\n"},
        {std::string(10000, 'a'), "ERROR line too long\n"}, // past the reader's bound, no LF
        {"SET k 2\nok\nGET k\nGET k\r\n", "STORED\nVALUE 2\nok\nERROR bad key\n"},
    };
    for (const auto& row : rows) {
        INFO(row.sent.substr(0, 40));
        kv::server srv{.cfg = {.max_value = 4096}};
        raw_result out;
        sim::test_network net({.seed = 7});
        net.spawn_server(net.b(), kv_server(srv));
        net.spawn_client(net.a(), raw_client(net, row.sent, out));
        auto r = net.run();
        REQUIRE(r);
        CHECK(out.got == row.reply);
        CHECK(out.closed);
        CHECK(srv.connections == 0);
    }
}

TEST_CASE("kv: a store at max_bytes refuses a SET with ENOSPC and serves on", "[examples][kv]") {
    kv::server srv{.cfg = {.max_bytes = 100}};
    std::vector<int> results;
    std::string got;
    sim::test_network net({.seed = 8});
    net.spawn_server(net.b(), kv_server(srv));
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        auto c = co_await kv::client::connect(p, kv_address(net));
        if (!c) co_return;
        results.push_back((co_await c->set("a", std::string(90, 'a'))).error()); // 91 bytes
        results.push_back((co_await c->set("b", std::string(9, 'b'))).error());  // 101
        results.push_back((co_await c->set("a", std::string(80, 'a'))).error()); // 81: a replaced
        results.push_back((co_await c->set("b", std::string(9, 'b'))).error());  // 91
        auto v = co_await c->get("b");
        if (v && *v) got = **v;
    });
    auto r = net.run();
    REQUIRE(r);
    CHECK(results == std::vector<int>{0, ENOSPC, 0, 0});
    CHECK(got == std::string(9, 'b'));
}

TEST_CASE("kv: a connection beyond max_connections is told so and closed; a silent one is "
          "closed at the idle timeout, and its slot serves the next",
          "[examples][kv]") {
    kv::server srv{.cfg = {.max_connections = 1, .idle_timeout = 20s}};
    raw_result second;
    time_point connected{}, idled{};
    std::vector<int> third; // the results of its two GETs, 25 s apart
    sim::test_network net({.seed = 9});
    net.spawn_server(net.b(), kv_server(srv));
    net.spawn_client(
        net.a(),
        [&](process& p) -> task<void> {
            // Holds the only slot, silent, until the server ends it.
            auto c = p.own(co_await p.connect(kv_address(net)));
            if (!c) co_return;
            connected = net.world().now();
            std::array<std::byte, 64> buf;
            auto n = co_await p.read(*c, buf);
            if (n && *n == 0) idled = net.world().now();
        },
        "holder");
    net.spawn_client(
        net.a(),
        [&](process& p) -> task<void> {
            (void)co_await p.sleep(1s);
            auto body = raw_client(net, "GET k\n", second);
            co_await body(p);
        },
        "second");
    net.spawn_client(
        net.a(),
        [&](process& p) -> task<void> {
            (void)co_await p.sleep(25s);
            auto c = co_await kv::client::connect(p, kv_address(net));
            if (!c) co_return;
            third.push_back((co_await c->get("k")).error());
            (void)co_await p.sleep(25s); // idle: the server closes at 20 s
            third.push_back((co_await c->get("k")).error());
            third.push_back(c->connected() ? 1 : 0);
        },
        "third");
    auto r = net.run();
    REQUIRE(r);
    CHECK(second.got == "ERROR too many connections\n");
    CHECK(second.closed);
    CHECK(srv.refused == 1);
    CHECK(idled - connected >= 20s);
    CHECK(idled - connected < 21s);
    CHECK(third == std::vector<int>{0, ECONNRESET, 0});
    CHECK(srv.idle_closed == 2);
}

TEST_CASE("kv: a client that sends GETs and never reads the replies is closed at the idle "
          "timeout",
          "[examples][kv]") {
    kv::server srv{.cfg = {.idle_timeout = 10s}};
    bool set = false;
    std::size_t pending_at_end = 0;
    sim::test_network net({.seed = 12});
    net.spawn_server(net.b(), kv_server(srv));
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        {
            auto c = co_await kv::client::connect(p, kv_address(net));
            set = c && co_await c->set("big", std::string(60000, 'v'));
        }
        // 200 GETs of 60 kB: 12 MB of replies, far more than TCP's windows hold.
        auto c = p.own(co_await p.connect(kv_address(net)));
        if (!c) co_return;
        std::string gets;
        for (int i = 0; i < 200; ++i)
            gets += "GET big\n";
        if (!co_await p.write_all(*c, std::as_bytes(std::span(gets)))) co_return;
        (void)co_await p.sleep(30s);
        pending_at_end = srv.connections;
    });
    auto r = net.run();
    REQUIRE(r);
    REQUIRE(set);
    CHECK(srv.idle_closed == 1);
    CHECK(pending_at_end == 0);
    CHECK(srv.requests < 200); // it stopped reading them once the replies backed up
}

TEST_CASE("kv: the server's host crashes and restarts; the client times out, is refused "
          "until the server is back, reconnects and finds the store empty",
          "[examples][kv][crash]") {
    kv::server srv;
    std::vector<int> errors; // of each attempt, in order
    std::vector<std::string> seen;
    bool down_at_crash = false;
    sim::test_network net({.seed = 11});
    net.spawn_server(net.b(), kv_server(srv));
    // The operator: b crashes at 1 s, boots at 6 s, and its server starts again at 9 s.
    net.spawn_client(
        net.a(),
        [&](process& p) -> task<void> {
            (void)co_await p.sleep(1s);
            net.crash(net.b());
            down_at_crash = !net.is_up(net.b());
            (void)co_await p.sleep(5s);
            net.restart(net.b());
            (void)co_await p.sleep(3s);
            net.spawn_server(net.b(), kv_server(srv));
        },
        "operator");
    net.spawn_client(net.a(), [&](process& p) -> task<void> {
        {
            auto c = co_await kv::client::connect(p, kv_address(net), 2s);
            if (!c || !co_await c->set("k", "in memory")) co_return;
            (void)co_await p.sleep(2s);
            errors.push_back((co_await c->get("k")).error()); // b is down: no answer
        }
        for (int attempt = 0; attempt < 30; ++attempt) {
            (void)co_await p.sleep(1500ms);
            auto c = co_await kv::client::connect(p, kv_address(net), 2s);
            errors.push_back(c.error());
            if (!c) continue;
            auto v = co_await c->get("k");
            seen.push_back(!v ? v.message() : *v ? **v : "not found");
            if (!co_await c->set("k", "new")) co_return;
            auto again = co_await c->get("k");
            seen.push_back(again && *again ? **again : "?");
            co_return;
        }
    });
    auto r = net.run();
    REQUIRE(r);
    CHECK(down_at_crash);
    CHECK(net.is_up(net.b()));
    // The GET at 2-4 s into the dead host; a connect at 5.5 s whose SYN, lost, is sent again
    // at 6.5 s to the booted host with nothing listening, and one at 8 s: both refused; at
    // 9.5 s the new server.
    CHECK(errors == std::vector<int>{ETIMEDOUT, ECONNREFUSED, ECONNREFUSED, 0});
    // The store was the crashed process's: the new one starts empty.
    CHECK(seen == std::vector<std::string>{"not found", "new"});
    CHECK(srv.accepted == 2);
}

TEST_CASE("kv: a lossy scenario of two clients replays byte-identical with one seed",
          "[examples][kv][replay]") {
    kv::server srv; // shared by both runs, outliving both networks
    int good = 0;
    auto check = sim::run_twice({.seed = 10, .faults = {.loss = 0.03, .reorder = 0.02}},
                                [&](sim::test_network& net) {
                                    net.spawn_server(net.b(), kv_server(srv));
                                    set_and_get(net, 2, 20, good);
                                    (void)net.run();
                                });
    INFO(check.describe());
    CHECK(check.identical);
    CHECK(check.first_size > 0);
    CHECK(good == 2 * 2 * 20);
}
