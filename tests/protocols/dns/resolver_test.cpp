// dns::resolver in simulation: a client host, two name servers and a stranger on one hub,
// the servers answering from a table, all on virtual time. Hosts file first, A answers,
// CNAME chains, NXDOMAIN, a silent server and the retry, spoofed answers ignored, and
// connect("name:port").
#include "protocols/dns/connect.hpp"
#include "protocols/dns/resolver.hpp"
#include "protocols/sim/world.hpp"
#include "tests/protocols/dns/zone.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <set>

using namespace coronet;
using namespace coronet::dns;
using namespace coronet::dns::testing;
using namespace std::chrono_literals;

namespace {

using addresses = std::vector<ipv4_address>;

const ipv4_address ns1_ip{10, 0, 0, 53}, ns2_ip{10, 0, 0, 54};
const std::string both_servers =
    "nameserver 10.0.0.53\nnameserver 10.0.0.54\noptions timeout:3 attempts:2\n";

zone test_zone() {
    const auto a = a_record;
    const auto cname = [](const char* n, const char* t) {
        return record{.name = n, .type = record_type::cname, .ttl = 60, .target = t};
    };
    zone z;
    z.names["www.test"] = {a("www.test", {10, 0, 1, 1}), a("www.test", {10, 0, 1, 2})};
    z.names["db.test"] = {a("db.test", {10, 2, 2, 2})};
    z.names["alias.test"] = {cname("alias.test", "mid.test"), cname("mid.test", "www.test"),
                             a("www.test", {10, 0, 1, 1})};
    z.names["loop.test"] = {cname("loop.test", "loop2.test"), cname("loop2.test", "loop.test")};
    z.names["dangling.test"] = {cname("dangling.test", "elsewhere.test")};
    z.names["app.test"] = {a("app.test", ns1_ip), a("app.test", ns2_ip)};
    return z;
}

struct dns_world {
    sim::world w{{.seed = 5}};
    wire& lan = w.add_wire({.kind = wire::kind::hub, .latency = 1ms});
    sim::host& client = add("client", "10.0.0.1/24");
    sim::host& ns1 = add("ns1", "10.0.0.53/24");
    sim::host& ns2 = add("ns2", "10.0.0.54/24");
    sim::host& stranger = add("stranger", "10.0.0.66/24");
    std::vector<ref<process>> others;
    ref<process> cp = client.create_process("client");
    std::unique_ptr<resolver> r;

    sim::host& add(const char* name, const char* address) {
        auto& h = w.add_host(name);
        w.connect(h, lan, ipv4_prefix::parse(address).value());
        return h;
    }
    ~dns_world() {
        r.reset();
        for (auto& p : others) {
            p->terminate("test over");
            w.run(p->join());
        }
        cp->terminate("test over");
        w.run(cp->join());
    }

    resolver& make(const std::string& resolv_conf, const std::string& hosts = "") {
        r = std::make_unique<resolver>(*cp,
                                       resolver_options{.hosts = hosts_table::parse(hosts),
                                                        .config = resolv_config::parse(resolv_conf),
                                                        .seed = 11});
        return *r;
    }

    process& spawn(sim::host& h, std::function<task<void>(process&)> body) {
        auto p = h.create_process("p");
        auto* raw = p.get();
        others.push_back(std::move(p));
        raw->spawn([raw, body = std::move(body)]() -> task<void> { co_await body(*raw); });
        return *raw;
    }

    // A server on h:53 answering queries from `z`.
    void serve(sim::host& h, zone& z) {
        spawn(h, [&z](process& p) -> task<void> {
            auto s = p.socket(socket_type::datagram).value();
            REQUIRE(p.bind(s, {ipv4_any, dns::server_port}));
            co_await dns::testing::serve(p, s, z);
        });
    }

    result<addresses> resolve(const std::string& name) {
        result<addresses> out = error{EINPROGRESS};
        cp->spawn([&]() -> task<void> { out = co_await r->resolve(name); });
        w.run(cp->join());
        return out;
    }
};

} // namespace

TEST_CASE("dns resolver: a numeric address and a hosts entry need no query", "[dns]") {
    dns_world t;
    zone z = test_zone();
    t.serve(t.ns1, z);
    t.make("nameserver 10.0.0.53\n", "10.1.1.1 db.test # the file wins over DNS\n");
    CHECK(t.resolve("10.3.3.3").value() == addresses{{10, 3, 3, 3}});
    CHECK(t.resolve("DB.test.").value() == addresses{{10, 1, 1, 1}});
    CHECK(z.queries == 0);
    CHECK(t.r->stats().numeric.value == 1);
    CHECK(t.r->stats().hosts_hits.value == 1);
    CHECK(t.r->stats().queries.value == 0);
    CHECK(t.resolve("a..test").error() == EINVAL);
}

TEST_CASE("dns resolver: A records, a CNAME chain, and what a chain can get wrong", "[dns]") {
    dns_world t;
    zone z = test_zone();
    t.serve(t.ns1, z);
    t.make("nameserver 10.0.0.53\n");
    CHECK(t.resolve("www.test").value() == addresses{{10, 0, 1, 1}, {10, 0, 1, 2}});
    CHECK(t.resolve("Alias.Test").value() == addresses{{10, 0, 1, 1}});
    CHECK(t.resolve("loop.test").error() == ELOOP);
    CHECK(t.resolve("dangling.test").error() == ENODATA);
    CHECK(z.queries == 4);
    CHECK(t.r->stats().queries.value == 4);
    CHECK(t.r->stats().answers.value == 4);
    CHECK(t.r->stats().ignored.value == 0);
}

TEST_CASE("dns resolver: NXDOMAIN is ENOENT, at once, without asking the next server", "[dns]") {
    dns_world t;
    zone z1 = test_zone(), z2 = test_zone();
    t.serve(t.ns1, z1);
    t.serve(t.ns2, z2);
    t.make(both_servers);
    CHECK(t.resolve("nope.test").error() == ENOENT);
    CHECK(z1.queries == 1);
    CHECK(z2.queries == 0);
    CHECK(t.r->stats().name_errors.value == 1);
}

TEST_CASE("dns resolver: a silent first server, then the second answers after its timeout",
          "[dns]") {
    dns_world t;
    zone z1 = test_zone(), z2 = test_zone();
    z1.silent = true;
    t.serve(t.ns1, z1);
    t.serve(t.ns2, z2);
    t.make(both_servers);
    const auto start = t.w.now();
    CHECK(t.resolve("www.test").value() == addresses{{10, 0, 1, 1}, {10, 0, 1, 2}});
    const auto took = t.w.now() - start;
    CHECK(took >= 3s); // ns1's timeout:3, then ns2's answer a few round trips later
    CHECK(took < 3s + 50ms);
    CHECK(z1.queries == 1);
    CHECK(z2.queries == 1);
    CHECK(t.r->stats().timeouts.value == 1);
    CHECK(t.r->stats().queries.value == 2);
}

TEST_CASE("dns resolver: every server silent: ETIMEDOUT after attempts x servers x timeout",
          "[dns]") {
    dns_world t;
    zone z1 = test_zone(), z2 = test_zone();
    z1.silent = z2.silent = true;
    t.serve(t.ns1, z1);
    t.serve(t.ns2, z2);
    t.make(both_servers);
    const auto start = t.w.now();
    CHECK(t.resolve("www.test").error() == ETIMEDOUT);
    const auto took = t.w.now() - start;
    CHECK(took >= 12s);
    CHECK(took < 12s + 50ms);
    CHECK(z1.queries == 2);
    CHECK(z2.queries == 2);
    CHECK(t.r->stats().timeouts.value == 4);
    // Each query its own ID and its own source port.
    std::set<std::uint16_t> ids, ports;
    for (const auto* z : {&z1, &z2}) {
        for (const auto& [id, from] : z->seen) {
            ids.insert(id);
            ports.insert(from.port.value());
        }
    }
    CHECK(ids.size() == 4);
    CHECK(ports.size() == 4);
}

TEST_CASE("dns resolver: SERVFAIL moves on to the next server; only failures is EAGAIN", "[dns]") {
    dns_world t;
    zone z1 = test_zone(), z2 = test_zone();
    z1.rcode = rcode::server_failure;
    t.serve(t.ns1, z1);
    t.serve(t.ns2, z2);
    t.make(both_servers);
    CHECK(t.resolve("db.test").value() == addresses{{10, 2, 2, 2}});
    CHECK(t.r->stats().server_failures.value == 1);
    z2.rcode = rcode::refused;
    CHECK(t.resolve("db.test").error() == EAGAIN);
    CHECK(z1.queries == 3); // once, then twice: both attempts
    CHECK(z2.queries == 3);
}

TEST_CASE("dns resolver: answers with a wrong ID, question or source are ignored", "[dns]") {
    dns_world t;
    // The stranger forges an answer when told what the query was: the right ID and
    // question, but from 10.0.0.66, not the server asked.
    struct {
        std::vector<std::byte> forged;
        endpoint to;
    } leak;
    t.spawn(t.stranger, [&leak](process& p) -> task<void> {
        auto s = p.socket(socket_type::datagram).value();
        REQUIRE(p.bind(s, {ipv4_any, dns::server_port}));
        while (leak.forged.empty())
            (void)co_await p.sleep(1ms);
        (void)co_await p.send_to(s, leak.forged, leak.to);
    });
    t.spawn(t.ns1, [&leak](process& p) -> task<void> {
        auto s = p.socket(socket_type::datagram).value();
        REQUIRE(p.bind(s, {ipv4_any, dns::server_port}));
        auto other_port = p.socket(socket_type::datagram).value();
        REQUIRE(p.bind(other_port, {ipv4_any, 5353}));
        std::array<std::byte, 512> buf;
        auto got = co_await p.recv_from(s, buf);
        REQUIRE(got);
        const auto q = parse(std::span(buf).first(got->size)).value();
        zone evil;
        evil.names["www.test"] = {record{.name = "www.test", .address = {6, 6, 6, 6}}};
        evil.names["evil.test"] = evil.names["www.test"];
        auto wrong_id = q;
        wrong_id.id ^= 1;
        auto wrong_question = q;
        wrong_question.questions[0].name = "evil.test";
        (void)co_await p.send_to(s, answer(evil, wrong_id), got->from);
        (void)co_await p.send_to(s, answer(evil, wrong_question), got->from);
        (void)co_await p.send_to(other_port, answer(evil, q), got->from);
        leak.forged = answer(evil, q);
        leak.to = got->from;
        (void)co_await p.sleep(100ms);
        zone real = test_zone();
        (void)co_await p.send_to(s, answer(real, q), got->from);
    });
    t.make("nameserver 10.0.0.53\n");
    CHECK(t.resolve("www.test").value() == addresses{{10, 0, 1, 1}, {10, 0, 1, 2}});
    CHECK(t.r->stats().ignored.value == 4);
    CHECK(t.r->stats().answers.value == 1);
    CHECK(t.r->stats().timeouts.value == 0);
}

TEST_CASE("dns resolver: a malformed answer with the query's ID is EBADMSG, counted", "[dns]") {
    dns_world t;
    t.spawn(t.ns1, [](process& p) -> task<void> {
        auto s = p.socket(socket_type::datagram).value();
        REQUIRE(p.bind(s, {ipv4_any, dns::server_port}));
        std::array<std::byte, 512> buf;
        for (;;) {
            auto got = co_await p.recv_from(s, buf);
            if (!got) co_return;
            // The query's header turned into an answer's, its question cut off after 3 bytes.
            buf[2] |= std::byte{0x80};
            (void)co_await p.send_to(s, std::span(buf).first(header_size + 3), got->from);
        }
    });
    t.make("nameserver 10.0.0.53\noptions attempts:1\n");
    CHECK(t.resolve("www.test").error() == EBADMSG);
    CHECK(t.r->stats().malformed.value == 1);
}

TEST_CASE("dns connect: resolves, then tries each address until one connects", "[dns]") {
    dns_world t;
    zone z = test_zone();
    t.serve(t.ns2, z);
    // app.test is ns1 (nothing listens: RST) then ns2, which listens on 80.
    t.spawn(t.ns2, [](process& p) -> task<void> {
        auto ls = p.listen({ipv4_any, 80}).value();
        auto conn = co_await p.accept(ls);
        REQUIRE(conn);
        (void)co_await p.sleep(1h);
    });
    t.make("nameserver 10.0.0.54\n");
    result<endpoint> peer = error{EINPROGRESS};
    int bad_text = 0, bad_port = 0, unknown = 0;
    t.cp->spawn([&]() -> task<void> {
        auto h = co_await dns::connect(*t.cp, *t.r, "app.test:80");
        if (h) peer = t.cp->get_peer_name(*h);
        bad_text = (co_await dns::connect(*t.cp, *t.r, "app.test")).error();
        bad_port = (co_await dns::connect(*t.cp, *t.r, "app.test:65536")).error();
        unknown = (co_await dns::connect(*t.cp, *t.r, "nope.test:80")).error();
    });
    t.w.run(t.cp->join());
    CHECK(peer.value() == endpoint{ns2_ip, 80});
    CHECK(bad_text == EINVAL);
    CHECK(bad_port == EINVAL);
    CHECK(unknown == ENOENT);
}
