// The host stack's receive and send timeouts as the kernel's linked timeouts
// (host_options::linked_timeouts): each io_uring operation of a bounded call is linked to an
// IORING_OP_LINK_TIMEOUT, with the same outcomes as the process layer's with_timeout (EAGAIN,
// a write's partial count, nothing lost), counted in host_stats. Outcomes only: the kernel's
// timers run on real time, and no test asserts how long anything took. Loopback only.
#include "tests/drivers/host_world.hpp"

#include <array>
#include <string>
#include <vector>

using namespace coronet;
using namespace coronet::test;

namespace {

std::string text_of(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

host::host_options with_linked_timeouts(bool on) {
    host::host_options o;
    o.linked_timeouts = on;
    return o;
}

} // namespace

TEST_CASE("host timeouts: a read on an idle socket ends with EAGAIN, by the kernel's timer or "
          "by with_timeout alike",
          "[host][tcp][timeout]") {
    const bool linked = GENERATE(true, false);
    host_world w(with_linked_timeouts(linked));
    connected_pair c(w);
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::receive_timeout, 20));
    result<std::size_t> idle = std::size_t{0}, later = std::size_t{0};
    std::array<std::byte, 64> buf{};
    w.sched.run(as_task([&]() -> task<void> { idle = co_await c.server->read(c.accepted, buf); }));
    CHECK(idle.error() == EAGAIN);
    CHECK(w.stack.stats().linked_timeouts == (linked ? 1u : 0u));
    CHECK(w.stack.stats().linked_timeouts_expired == (linked ? 1u : 0u));
    // Nothing was taken and nothing is left in the kernel: the next read gets what comes.
    w.sched.run(as_task([&]() -> task<void> {
        auto sent = co_await c.client->write_all(c.conn, bytes_of("ping"));
        REQUIRE(sent);
        later = co_await c.server->read(c.accepted, buf);
    }));
    REQUIRE(later);
    CHECK(text_of(std::span(buf).first(*later)) == "ping");
    CHECK(w.stack.stats().linked_timeouts_expired == (linked ? 1u : 0u));
}

TEST_CASE("host timeouts: data that arrives before the deadline is read whole, and the socket "
          "goes on working",
          "[host][tcp][timeout]") {
    host_world w;
    connected_pair c(w);
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::receive_timeout, 10'000));
    const std::string message = pattern(1000);
    std::vector<std::size_t> got;
    std::vector<std::string> texts;
    std::size_t before = 0, after = 0;
    bool reading = false;
    c.server->spawn([&]() -> task<void> {
        std::array<std::byte, 4096> buf{};
        before = w.reactor.in_flight(); // the listener's multishot accept
        reading = true;
        for (int i = 0; i < 2; ++i) {
            auto n = co_await c.server->read(c.accepted, buf);
            REQUIRE(n);
            got.push_back(*n);
            texts.push_back(text_of(std::span(buf).first(*n)));
        }
        after = w.reactor.in_flight();
    });
    w.sched.run_until([&] { return reading; });
    for (int i = 0; i < 4; ++i)
        w.sched.run_once(false); // the read and its timeout reach the kernel
    CHECK(w.reactor.in_flight() == before + 2);
    w.sched.run(as_task([&]() -> task<void> {
        auto one = co_await c.client->write_all(c.conn, bytes_of(message));
        REQUIRE(one);
        for (int i = 0; i < 4; ++i)
            (void)co_await c.client->sleep(std::chrono::milliseconds(1));
        auto two = co_await c.client->write_all(c.conn, bytes_of("second"));
        REQUIRE(two);
    }));
    w.sched.run(c.server->join());
    REQUIRE(got.size() == 2);
    CHECK(got[0] == message.size()); // one segment on loopback: one read
    CHECK(texts[0] == message);
    CHECK(texts[1] == "second");
    CHECK(after == before); // each read resumed after its timeout's CQE too: none stray
    CHECK(w.stack.stats().linked_timeouts == 2);
    CHECK(w.stack.stats().linked_timeouts_expired == 0);
}

TEST_CASE("host timeouts: writes blocked by a full peer window return what they took, then "
          "EAGAIN, and every byte taken arrives",
          "[host][tcp][timeout]") {
    const bool linked = GENERATE(true, false);
    host_world w(with_linked_timeouts(linked));
    connected_pair c(w);
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::receive_buffer, 64 << 10));
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::send_buffer, 64 << 10));
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::send_timeout, 30));
    const std::string data = pattern(4 << 20);
    std::size_t written = 0;
    int blocked = 0;
    w.sched.run(as_task([&]() -> task<void> {
        // Nobody reads: each write takes what fits and times out with it (the kernel may
        // find a little room again later, as it packs the receive queue), the last takes
        // nothing and fails.
        while (written < data.size()) {
            auto n = co_await c.client->write(c.conn, bytes_of(data).subspan(written));
            if (!n) {
                blocked = n.error();
                break;
            }
            written += *n;
        }
    }));
    CHECK(blocked == EAGAIN);
    CHECK(written > 0);
    CHECK(written < data.size());
    if (linked) {
        CHECK(w.stack.stats().linked_timeouts >= 2);
        CHECK(w.stack.stats().linked_timeouts_expired >= 1);
    } else {
        CHECK(w.stack.stats().linked_timeouts == 0);
    }
    REQUIRE(c.client->shutdown(c.conn, shutdown_how::write));
    std::string got;
    w.sched.run(as_task([&]() -> task<void> {
        std::vector<std::byte> chunk(16 << 10);
        for (;;) {
            auto n = co_await c.server->read(c.accepted, chunk);
            REQUIRE(n);
            if (*n == 0) break;
            got += text_of(std::span(chunk).first(*n));
        }
    }));
    REQUIRE(got.size() == written);
    CHECK(got == data.substr(0, written));
}

TEST_CASE("host timeouts: closing the handle ends a timed read with ECANCELED, not EAGAIN",
          "[host][tcp][timeout][cancel]") {
    host_world w;
    connected_pair c(w);
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::receive_timeout, 10'000));
    result<std::size_t> out = std::size_t{0};
    bool done = false;
    c.server->spawn([&]() -> task<void> {
        std::array<std::byte, 64> buf{};
        out = co_await c.server->read(c.accepted, buf);
        done = true;
    });
    for (int i = 0; i < 4; ++i)
        w.sched.run_once(false);
    REQUIRE_FALSE(done);
    REQUIRE(c.server->close(c.accepted));
    w.sched.run_until([&] { return done; });
    CHECK(out.error() == ECANCELED);
    CHECK(w.stack.stats().linked_timeouts == 1);
    CHECK(w.stack.stats().linked_timeouts_expired == 0);
    REQUIRE(c.server->close(c.ls));
    REQUIRE(c.client->close(c.conn));
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host timeouts: terminating a process ends its timed read, nothing left in the kernel",
          "[host][tcp][timeout][cancel]") {
    host_world w;
    connected_pair c(w);
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::receive_timeout, 10'000));
    int error = 0;
    c.client->spawn([&]() -> task<void> {
        std::array<std::byte, 64> buf{};
        auto n = co_await c.client->read(c.conn, buf);
        error = n ? 0 : n.error();
    });
    for (int i = 0; i < 4; ++i)
        w.sched.run_once(false);
    c.client->terminate("test over");
    w.sched.run(c.client->join());
    CHECK(error == ECANCELED);
    c.server->terminate("done");
    w.sched.run(c.server->join());
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host timeouts: recv_zc and recv_from on idle sockets end with EAGAIN through linked "
          "timeouts; accept's stays a timer",
          "[host][timeout]") {
    host_world w;
    connected_pair c(w);
    auto udp = c.server->socket(socket_type::datagram).value();
    REQUIRE(c.server->bind(udp, {loopback, 0}));
    for (handle h : {c.accepted, udp, c.ls})
        REQUIRE(c.server->set_socket_option(h, socket_option::receive_timeout, 10));
    int zc = 0, from = 0, accepted = 0;
    w.sched.run(as_task([&]() -> task<void> {
        auto p = co_await c.server->recv_zc(c.accepted);
        zc = p ? 0 : p.error();
        std::array<std::byte, 64> buf{};
        auto d = co_await c.server->recv_from(udp, buf);
        from = d ? 0 : d.error();
        auto a = co_await c.server->accept(c.ls); // the multishot accept has no link
        accepted = a ? 0 : a.error();
    }));
    CHECK(zc == EAGAIN);
    CHECK(from == EAGAIN);
    CHECK(accepted == EAGAIN);
    CHECK(w.stack.stats().linked_timeouts == 2);
    CHECK(w.stack.stats().linked_timeouts_expired == 2);
}
