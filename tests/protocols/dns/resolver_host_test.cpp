// dns::resolver on the host stack: Linux's UDP over loopback, a name server run by the test
// on 127.0.0.1 (an ephemeral port, since 53 needs root), real time. Outcomes only.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"
#include "protocols/dns/connect.hpp"
#include "protocols/dns/resolver.hpp"
#include "tests/protocols/dns/zone.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::dns;
using namespace coronet::dns::testing;
using namespace std::chrono_literals;

namespace {

const ipv4_address loopback(127, 0, 0, 1);

struct host_world {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
    ref<process> server = process::create("dns server", &stack);
    ref<process> client = process::create("client", &stack);

    ~host_world() {
        server->terminate("test over");
        sched.run(server->join());
        client->terminate("test over");
        sched.run(client->join());
    }

    // A server of `z` on 127.0.0.1 at a port of the kernel's choice: its endpoint.
    endpoint serve(zone& z) {
        auto s = server->socket(socket_type::datagram).value();
        REQUIRE(server->bind(s, {loopback, 0}));
        server->spawn(dns::testing::serve(*server, s, z));
        return server->get_socket_name(s).value();
    }

    template <class T>
    T run(task<T> t) {
        T out = error{EINPROGRESS};
        client->spawn([&]() -> task<void> { out = co_await std::move(t); });
        sched.run(client->join());
        return out;
    }
};

} // namespace

TEST_CASE("dns resolver on the host stack: an answer, NXDOMAIN, and a silent server skipped",
          "[dns][host]") {
    host_world w;
    zone silent{.silent = true}, z;
    z.names["www.test"] = {a_record("www.test", {10, 0, 1, 1})};
    const auto quiet = w.serve(silent);
    const auto good = w.serve(z);
    resolver r(*w.client,
               {.config = {.servers = {quiet, good}, .timeout = 200ms, .attempts = 1}, .seed = 3});
    auto found = w.run(r.resolve("WWW.test"));
    CHECK(found.value() == std::vector<ipv4_address>{{10, 0, 1, 1}});
    auto missing = w.run(r.resolve("nope.test"));
    CHECK(missing.error() == ENOENT);
    CHECK(silent.queries == 2);
    CHECK(z.queries == 2);
    CHECK(r.stats().timeouts.value == 2);
    CHECK(r.stats().answers.value == 2);
}

TEST_CASE("dns connect on the host stack: a name from the hosts table to a listener",
          "[dns][host]") {
    host_world w;
    auto ls = w.server->listen({loopback, 0}).value();
    const auto where = w.server->get_socket_name(ls).value();
    w.server->spawn([&]() -> task<void> {
        auto conn = co_await w.server->accept(ls);
        REQUIRE(conn);
    });
    resolver r(*w.client, {.hosts = hosts_table::parse("127.0.0.1 local.test\n"), .seed = 3});
    const auto text = "local.test:" + std::to_string(where.port.value());
    auto h = w.run(dns::connect(*w.client, r, text));
    REQUIRE(h);
    CHECK(w.client->get_peer_name(*h).value() == where);
    CHECK(r.stats().queries.value == 0);
    // With the system's resolver: a numeric address needs no file and no query.
    w.server->spawn([&]() -> task<void> {
        auto conn = co_await w.server->accept(ls);
        REQUIRE(conn);
    });
    auto numeric =
        w.run(dns::connect(*w.client, "127.0.0.1:" + std::to_string(where.port.value())));
    REQUIRE(numeric);
    CHECK(w.client->get_peer_name(*numeric).value() == where);
}
