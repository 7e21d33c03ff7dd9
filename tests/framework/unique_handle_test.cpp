// unique_handle: a handle that closes itself on every path out of a coroutine, moves,
// and closes exactly once.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "tests/framework/loopback_stack.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using namespace coronet;

namespace {

struct world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    testing::loopback_stack stack;
    ref<process> p = process::create("owner", &stack);
};

constexpr endpoint where{ipv4_any, port{7}};

} // namespace

TEST_CASE("an early co_return closes an owned listener", "[process][unique_handle]") {
    world w;
    bool listened = false;
    w.sched.run([&]() -> task<void> {
        auto ls = w.p->own(co_await w.p->listen(where));
        REQUIRE(ls);
        listened = w.stack.listeners.count(7) == 1;
        CHECK(w.p->handles().count() == 1);
        co_return; // before any close
    }());
    CHECK(listened);
    CHECK(w.p->handles().count() == 0);
    CHECK(w.stack.listeners.empty()); // the socket itself is gone, not only its handle
    CHECK(w.p->calls(sysno::close) == 1);
    CHECK(w.p->alive());
}

TEST_CASE("an exception unwinding a coroutine closes its owned sockets",
          "[process][unique_handle]") {
    world w;
    auto opens_then_throws = [&]() -> task<void> {
        auto ls = w.p->own(co_await w.p->listen(where));
        auto conn = w.p->own(co_await w.p->connect({ipv4_address(127, 0, 0, 1), port{7}}));
        REQUIRE(ls);
        REQUIRE(conn);
        CHECK(w.p->handles().count() == 2);
        throw std::runtime_error("parse error");
    };
    std::string caught;
    w.p->spawn([&]() -> task<void> {
        try {
            co_await opens_then_throws();
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
    });
    w.sched.run(w.p->join());
    CHECK(caught == "parse error");
    CHECK(w.p->alive()); // the exception was handled inside the process
    CHECK(w.p->handles().count() == 0);
    CHECK(w.stack.listeners.empty());
}

TEST_CASE("a unique_handle moves its ownership and closes once", "[process][unique_handle]") {
    world w;
    auto ls = w.p->own(w.p->listen(where));
    REQUIRE(ls);
    const handle h = *ls;
    unique_handle a = std::move(*ls);
    CHECK_FALSE(*ls); // moved from: owns nothing
    CHECK(ls->close().error() == EBADF);
    CHECK(a.get() == h);
    CHECK(a.owner() == w.p.get());
    unique_handle b;
    b = std::move(a);
    CHECK(b.get() == h);
    CHECK(w.p->handles().count() == 1);
    CHECK(w.p->get_socket_name(b).value().port == port{7}); // a system call takes it as a handle

    SECTION("move-assigning over an owning one closes what it owned") {
        auto other = w.p->own(w.p->socket(socket_type::stream));
        REQUIRE(other);
        CHECK(w.p->handles().count() == 2);
        b = std::move(*other);
        CHECK(w.p->handles().count() == 1);
        CHECK(w.stack.listeners.empty());
    }
    SECTION("an explicit close returns the close's result; a second close is EBADF") {
        CHECK(b.close());
        CHECK_FALSE(b);
        CHECK(b.close().error() == EBADF);
        CHECK(w.p->handles().count() == 0);
    }
    SECTION("release gives the plain handle back, open") {
        const handle plain = b.release();
        CHECK_FALSE(b);
        CHECK(w.p->handles().count() == 1);
        CHECK(w.p->close(plain));
    }
}

TEST_CASE("closing explicitly, then destroying, closes once", "[process][unique_handle]") {
    world w;
    w.sched.run([&]() -> task<void> {
        auto conn = w.p->own(w.p->socket(socket_type::stream));
        REQUIRE(conn);
        auto r = co_await conn->close();
        CHECK(r);
    }());
    CHECK(w.p->calls(sysno::close) == 1); // the destructor found nothing to close
    CHECK(w.p->handles().count() == 0);
}

TEST_CASE("a unique_handle outliving its process's exit closes nothing twice",
          "[process][unique_handle]") {
    world w;
    auto ls = w.p->own(w.p->listen(where));
    REQUIRE(ls);
    auto other = w.p->own(w.p->socket(socket_type::stream)); // reuses no slot while ls is open
    w.p->terminate("done");                                  // closes every handle of the process
    CHECK(w.stack.listeners.empty());
    CHECK(ls->close().error() == EBADF); // its handle died with the process: nothing to close
    // A new handle in that table never has the old value (generations), so the other
    // unique_handle's destructor cannot close someone else's handle either.
    CHECK(w.p->handles().count() == 0);
}

TEST_CASE("own passes an error through", "[process][unique_handle]") {
    world w;
    REQUIRE(w.p->listen(where));
    auto second = w.p->own(w.p->listen(where));
    CHECK(second.error() == EADDRINUSE);
}
