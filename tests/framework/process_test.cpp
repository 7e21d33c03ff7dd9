// Processes and system calls: dispatch through the handle table, rights, accounting,
// crash isolation, and the socket calls served by a network stack.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "tests/framework/loopback_stack.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    testing::loopback_stack stack;
};

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

} // namespace

TEST_CASE("a system call counts itself by number", "[process][syscall]") {
    world w;
    auto p = process::create("counter");
    w.sched.run([&]() -> task<void> {
        for (int i = 0; i < 3; ++i) {
            auto r = co_await p->nop();
            REQUIRE(r);
        }
        auto e = co_await p->create_event();
        REQUIRE(e);
        auto s = co_await p->set_event(*e);
        REQUIRE(s);
    }());
    CHECK(p->calls(sysno::nop) == 3);
    CHECK(p->calls(sysno::create_event) == 1);
    CHECK(p->calls(sysno::set_event) == 1);
    CHECK(p->total_calls() == 5);
    CHECK(describe(sysno::set_event).name == "set_event");
}

TEST_CASE("a bad handle gives EBADF and a handle of the wrong type EINVAL or ENOTSOCK", "[process][syscall]") {
    world w;
    auto p = process::create("bad handles", &w.stack);
    auto ev = p->create_event().get();
    REQUIRE(ev);
    CHECK(p->set_event(handle{}).get().error() == EBADF);
    CHECK(p->set_event(handle{ev->value() + 4}).get().error() == EBADF);
    CHECK(p->set_event(handle{12345}).get().error() == EBADF);
    auto sem = p->create_semaphore(0, 1).get();
    REQUIRE(sem);
    CHECK(p->set_event(*sem).get().error() == EINVAL);
    CHECK(p->bind(*ev, {ipv4_any, 80}).get().error() == ENOTSOCK);
    REQUIRE(p->close(*ev).get());
    CHECK(p->set_event(*ev).get().error() == EBADF); // closed
    CHECK(p->close(*ev).get().error() == EBADF);     // closing twice
}

TEST_CASE("a handle from another process means nothing there", "[process][syscall]") {
    world w;
    auto a = process::create("a");
    auto b = process::create("b");
    auto ev = a->create_event().get();
    REQUIRE(ev);
    CHECK(b->set_event(*ev).get().error() == EBADF);
    CHECK(b->close(*ev).get().error() == EBADF);
    CHECK(a->set_event(*ev).get()); // still fine where it belongs
}

TEST_CASE("rights are tested on every call and duplicates can only lose rights", "[process][rights]") {
    world w;
    auto a = process::create("owner");
    auto b = process::create("waiter");
    auto ev = a->create_event().get();
    REQUIRE(ev);
    // b may wait on the event but not set it.
    auto wait_only = a->duplicate_handle(*ev, *b, access::wait).get();
    REQUIRE(wait_only);
    CHECK(b->set_event(*wait_only).get().error() == EACCES);
    // ...and cannot duplicate its way back to more rights.
    CHECK(b->duplicate_handle(*wait_only, *b, access::wait | access::signal).get().error() == EACCES);
    auto dup_right = a->duplicate_handle(*ev, *b, access::wait | access::duplicate).get();
    REQUIRE(dup_right);
    CHECK(b->duplicate_handle(*dup_right, *a, access::wait | access::signal).get().error() == EACCES);
    CHECK(b->duplicate_handle(*dup_right, *a, access::wait).get());

    bool woke = false;
    b->spawn([&]() -> task<void> {
        auto r = co_await b->wait(*wait_only);
        woke = r.has_value();
    });
    w.sched.run_until_idle();
    CHECK_FALSE(woke);
    REQUIRE(a->set_event(*ev).get());
    w.sched.run(b->join());
    CHECK(woke);
}

TEST_CASE("an exception ends its own process and no other", "[process][isolation]") {
    world w;
    auto crashing = process::create("crashing");
    auto healthy = process::create("healthy");
    auto crash_ev = crashing->create_event().get();
    REQUIRE(crash_ev);
    int sibling_result = 0;
    crashing->spawn([&]() -> task<void> {
        auto r = co_await crashing->sleep(1h); // cancelled when the process dies
        sibling_result = r ? 1 : -r.error();
    });
    crashing->spawn([&]() -> task<void> {
        (void)co_await crashing->sleep(1s);
        throw std::runtime_error("null pointer in user code");
    });
    int healthy_ticks = 0;
    healthy->spawn([&]() -> task<void> {
        for (int i = 0; i < 5; ++i) {
            (void)co_await healthy->sleep(1s);
            ++healthy_ticks;
        }
    });
    w.sched.run(crashing->join());
    CHECK_FALSE(crashing->alive());
    CHECK(crashing->exit_reason() == "exception: null pointer in user code");
    CHECK(sibling_result == -ECANCELED);
    CHECK(crashing->handles().count() == 0); // its handles were closed
    CHECK(crashing->set_event(*crash_ev).get().error() == ESRCH);
    w.sched.run(healthy->join());
    CHECK(healthy->alive());
    CHECK(healthy_ticks == 5);
    CHECK(w.clock.now() == time_point{} + 5s);
}

TEST_CASE("waiting on a process handle ends when the process ends", "[process]") {
    world w;
    auto parent = process::create("parent");
    auto child = process::create("child");
    auto h = parent->handles().insert(ref<kernel_object>(child.get()), access::wait);
    REQUIRE(h);
    bool saw_exit = false;
    parent->spawn([&]() -> task<void> {
        auto r = co_await parent->wait(*h);
        saw_exit = r && !child->alive();
    });
    child->spawn([&]() -> task<void> {
        (void)co_await child->sleep(3s);
        child->terminate("done");
    });
    w.sched.run(parent->join());
    CHECK(saw_exit);
    CHECK(child->exit_reason() == "done");
}

TEST_CASE("a semaphore handle hands out units and refuses to overflow", "[process][semaphore]") {
    world w;
    auto p = process::create("sem");
    auto s = p->create_semaphore(1, 2).get();
    REQUIRE(s);
    CHECK(p->create_semaphore(3, 2).get().error() == EINVAL);
    CHECK(p->release_semaphore(*s, 2).get().error() == EOVERFLOW);
    int got = 0;
    p->spawn([&]() -> task<void> {
        for (int i = 0; i < 2; ++i)
            if (auto r = co_await p->wait(*s)) ++got;
    });
    w.sched.run_until_idle();
    CHECK(got == 1);
    REQUIRE(p->release_semaphore(*s).get());
    w.sched.run(p->join());
    CHECK(got == 2);
}

TEST_CASE("a handle closed while a call waits on it keeps the object alive until the call ends", "[process][lifetime]") {
    world w;
    auto p = process::create("closer");
    auto ev = p->create_event().get();
    REQUIRE(ev);
    int result = -1;
    p->spawn([&]() -> task<void> { result = (co_await p->wait(*ev)).error(); });
    w.sched.run_until_idle();
    REQUIRE(p->close(*ev).get()); // the waiter's reference keeps the event alive
    w.sched.run_until_idle();
    CHECK(result == -1); // still waiting: nothing set it
    p->terminate("shutdown");  // cancels the wait
    w.sched.run(p->join());
    CHECK(result == ECANCELED);
}

TEST_CASE("socket calls reach the network stack through handles", "[process][socket]") {
    world w;
    auto server = process::create("server", &w.stack);
    auto client = process::create("client", &w.stack);
    auto ls = server->listen({ipv4_any, 7}).get();
    REQUIRE(ls);
    CHECK(server->listen({ipv4_any, 7}).get().error() == EADDRINUSE);
    CHECK(server->get_socket_name(*ls).get()->port == port{7});

    std::string echoed;
    server->spawn([&]() -> task<void> {
        auto conn = co_await server->accept(*ls);
        REQUIRE(conn);
        std::array<std::byte, 64> buf{};
        for (;;) {
            auto n = co_await server->read(*conn, buf);
            if (!n || *n == 0) break;
            auto w_ok = co_await server->write_all(*conn, std::span(buf).first(*n));
            REQUIRE(w_ok);
        }
        (void)co_await server->close(*conn);
    });
    client->spawn([&]() -> task<void> {
        auto conn = co_await client->connect({ipv4_address(127, 0, 0, 1), 7});
        REQUIRE(conn);
        auto ok = co_await client->write_all(*conn, bytes_of("hello"));
        REQUIRE(ok);
        std::array<std::byte, 5> back{};
        auto got = co_await client->read_exactly(*conn, back);
        REQUIRE(got);
        echoed.assign(reinterpret_cast<const char*>(back.data()), back.size());
        CHECK(client->set_socket_option(*conn, socket_option::no_delay, 1).get());
        CHECK(client->get_socket_option(*conn, socket_option::no_delay).get().value() == 1);
        CHECK(client->set_socket_option(*conn, socket_option::linger, 0).get().error() == ENOPROTOOPT);
        auto st = co_await client->send_to(*conn, bytes_of("x"), {});
        CHECK(st.error() == EOPNOTSUPP);
        (void)co_await client->close(*conn);
    });
    w.sched.run(client->join());
    w.sched.run(server->join());
    CHECK(echoed == "hello");
    CHECK(server->calls(sysno::read) >= 2);
    CHECK(client->calls(sysno::connect) == 1);
}

TEST_CASE("socket calls fail cleanly without a stack, for a refused connect, and without rights", "[process][socket]") {
    world w;
    auto nostack = process::create("no stack");
    CHECK(nostack->socket(socket_type::stream).get().error() == ENETDOWN);
    auto p = process::create("client", &w.stack);
    CHECK(p->socket(socket_type::datagram).get().error() == EPROTONOSUPPORT);
    auto r = w.sched.run(p->connect({ipv4_address(127, 0, 0, 1), 9}));
    CHECK(r.error() == ECONNREFUSED);
    CHECK(p->handles().count() == 0); // the failed connect's socket was closed
    auto s = p->socket(socket_type::stream).get();
    REQUIRE(s);
    auto read_only = p->duplicate_handle(*s, *p, access::read | access::query).get();
    REQUIRE(read_only);
    auto wr = w.sched.run(p->write(*read_only, bytes_of("no")));
    CHECK(wr.error() == EACCES);
}
