// The host stack with registered (fixed) files (host_options::registered_files): every
// socket's descriptor in a slot of the ring's table and its operations naming the slot, the
// descriptor alone when the table is full (counted), slots reused after a close. Loopback.
#include "tests/drivers/host_world.hpp"

#include <string>
#include <vector>

using namespace coronet;
using namespace coronet::test;

namespace {

// An echo of `msg` through a listener and one connection of `w`: what came back.
std::string echo(host_world& w, const std::string& msg) {
    auto server = process::create("server", &w.stack);
    auto client = process::create("client", &w.stack);
    auto ls = server->listen({loopback, 0}).value();
    const auto where = server->get_socket_name(ls).value();
    server->spawn([&]() -> task<void> {
        auto c = co_await server->accept(ls);
        REQUIRE(c);
        std::vector<std::byte> buf(16384);
        for (;;) {
            auto n = co_await server->read(*c, buf);
            REQUIRE(n);
            if (*n == 0) break;
            auto sent = co_await server->write_all(*c, std::span(buf).first(*n));
            REQUIRE(sent);
        }
        (void)co_await server->close(*c);
        (void)co_await server->close(ls);
    });
    std::string back(msg.size(), '\0');
    client->spawn([&]() -> task<void> {
        auto c = co_await client->connect(where);
        REQUIRE(c);
        auto sent = co_await client->write_all(*c, bytes_of(msg));
        REQUIRE(sent);
        REQUIRE(client->shutdown(*c, shutdown_how::write));
        auto got = co_await client->read_exactly(*c, std::as_writable_bytes(std::span(back)));
        REQUIRE(got);
        (void)co_await client->close(*c);
    });
    w.sched.run(client->join());
    w.sched.run(server->join());
    return back;
}

} // namespace

TEST_CASE("host registered files: a listener, a connection and its peer each in a slot, "
          "byte-exact",
          "[host][tcp][registered]") {
    host_world w(host::host_options{.registered_files = 3});
    const std::string msg = pattern(1 << 20);
    CHECK(echo(w, msg) == msg);
    CHECK(w.stack.stats().registered == 3);
    CHECK(w.stack.stats().unregistered == 0);
    // Every socket closed and gone once the kernel let go: the three slots are free again,
    // and the next echo takes them anew.
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
    CHECK(echo(w, msg) == msg);
    CHECK(w.stack.stats().registered == 6);
    CHECK(w.stack.stats().unregistered == 0);
}

TEST_CASE("host registered files: a socket that finds the table full uses its descriptor",
          "[host][tcp][registered]") {
    host_world w(host::host_options{.registered_files = 2});
    const std::string msg = pattern(100'000);
    CHECK(echo(w, msg) == msg); // the listener and the client in slots, the accepted one not
    CHECK(w.stack.stats().registered == 2);
    CHECK(w.stack.stats().unregistered == 1);
}

TEST_CASE("host registered files: a second stack on the ring finds the table taken",
          "[host][tcp][registered]") {
    host_world w(host::host_options{.registered_files = 8});
    host::host_stack second(w.reactor, host::host_options{.registered_files = 8});
    auto p = process::create("second", &second);
    auto s = p->socket(socket_type::stream);
    REQUIRE(s);
    CHECK(second.stats().registered == 0);
    CHECK(second.stats().unregistered == 1);
    REQUIRE(p->close(*s));
    const std::string msg = pattern(10'000);
    CHECK(echo(w, msg) == msg); // the first stack's table still serves it
    CHECK(w.stack.stats().registered == 3);
}

TEST_CASE("host registered files: off by default, nothing counted", "[host][tcp][registered]") {
    host_world w;
    const std::string msg = pattern(10'000);
    CHECK(echo(w, msg) == msg);
    CHECK(w.stack.stats().registered == 0);
    CHECK(w.stack.stats().unregistered == 0);
}
