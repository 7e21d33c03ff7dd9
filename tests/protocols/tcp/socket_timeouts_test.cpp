// socket_option::receive_timeout and send_timeout (SO_RCVTIMEO, SO_SNDTIMEO) on the native
// stack, on virtual time: a call that waits past its socket's timeout fails with EAGAIN when
// the timeout is up, a write returns what it had taken, nothing a cut-short call did not
// take is lost, and a cancel or a close still says ECANCELED or EBADF.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <stop_token>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

// One connection between a server on b and a client on a, with ARP settled.
struct timed_pair {
    pair_world pw;
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    handle ls = server->listen({ipv4_any, port(80)}).value();
    handle srv{}; // the accepted connection
    handle cli{};

    timed_pair() {
        (void)pw.w.run(pw.a.stack().ping(b_addr));
        cli = pw.w.run(client->connect({b_addr, port(80)})).value();
        srv = pw.w.run(server->accept(ls)).value(); // queued meanwhile
    }
    ~timed_pair() {
        server->terminate("test over");
        client->terminate("test over");
        pw.w.run(server->join());
        pw.w.run(client->join());
    }
    time_point now() const { return pw.w.now(); }
    // Runs `op` to its end; `*took` is the virtual time it took.
    template <class T>
    T timed(task<T> op, duration* took) {
        const time_point t0 = now();
        T r = pw.w.run(std::move(op));
        *took = now() - t0;
        return r;
    }
};

std::span<const std::byte> bytes_of(const char* s) {
    return std::as_bytes(std::span(s, std::strlen(s)));
}

} // namespace

TEST_CASE(
    "receive timeout: a read on an idle connection fails with EAGAIN after exactly the timeout",
    "[tcp][timeout]") {
    timed_pair t;
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_timeout, 250));
    CHECK(t.server->get_socket_option(t.srv, socket_option::receive_timeout).value() == 250);
    std::array<std::byte, 64> buf{};
    duration took{};
    auto r = t.timed(t.server->read(t.srv, buf), &took);
    CHECK(r.error() == EAGAIN); // as Linux's SO_RCVTIMEO; ETIMEDOUT means a dead connection
    CHECK(took == 250ms);
    // The connection is intact: data sent now is read.
    REQUIRE(t.pw.w.run(t.client->write_all(t.cli, bytes_of("after"))));
    auto n = t.pw.w.run(t.server->read(t.srv, buf));
    CHECK(n.value() == 5);
}

TEST_CASE("receive timeout: data that arrives before the timeout is read, and bytes a timed-out "
          "read did not take stay readable",
          "[tcp][timeout]") {
    timed_pair t;
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_timeout, 500));
    std::array<std::byte, 64> buf{};
    t.client->spawn([&]() -> task<void> {
        (void)co_await t.client->sleep(100ms);
        (void)co_await t.client->write_all(t.cli, bytes_of("early"));
    });
    duration took{};
    auto first = t.timed(t.server->read(t.srv, buf), &took);
    CHECK(first.value() == 5);
    CHECK(took < 500ms);
    CHECK(std::memcmp(buf.data(), "early", 5) == 0);
    // recv_zc is bounded alike; then bytes sent after a timed-out read are all there.
    auto zc = t.timed(t.server->recv_zc(t.srv), &took);
    CHECK(zc.error() == EAGAIN);
    CHECK(took == 500ms);
    REQUIRE(t.pw.w.run(t.client->write_all(t.cli, bytes_of("later"))));
    t.pw.w.run_for(10ms);
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_timeout, 0)); // 0: none
    CHECK(t.server->get_socket_option(t.srv, socket_option::receive_timeout).value() == 0);
    auto second = t.pw.w.run(t.server->read(t.srv, buf));
    CHECK(second.value() == 5);
    CHECK(std::memcmp(buf.data(), "later", 5) == 0);
}

TEST_CASE("receive timeout: 0 turns it off, and a bad value is refused", "[tcp][timeout]") {
    timed_pair t;
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_timeout, 100));
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_timeout, 0));
    CHECK(t.server->set_socket_option(t.srv, socket_option::receive_timeout, -1).error() == EINVAL);
    CHECK(t.server->set_socket_option(t.srv, socket_option::send_timeout, std::int64_t{1} << 40)
              .error() == EINVAL);
    t.client->spawn([&]() -> task<void> {
        (void)co_await t.client->sleep(5s); // far past the 100 ms that was set
        (void)co_await t.client->write_all(t.cli, bytes_of("slow"));
    });
    std::array<std::byte, 64> buf{};
    duration took{};
    auto r = t.timed(t.server->read(t.srv, buf), &took);
    CHECK(r.value() == 4);
    CHECK(took > 5s);
}

TEST_CASE("send timeout: a write blocked by a zero window returns what it took, then EAGAIN",
          "[tcp][timeout]") {
    timed_pair t;
    // The server never reads: its window closes, then the client's send buffer fills.
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_buffer, 16 << 10));
    REQUIRE(t.client->set_socket_option(t.cli, socket_option::send_buffer, 32 << 10));
    REQUIRE(t.client->set_socket_option(t.cli, socket_option::send_timeout, 300));
    CHECK(t.client->get_socket_option(t.cli, socket_option::send_timeout).value() == 300);
    const auto data = pattern(1 << 20, 4);
    duration took{};
    auto first = t.timed(t.client->write(t.cli, data), &took);
    REQUIRE(first);
    CHECK(*first > 0);
    CHECK(*first < data.size());
    CHECK(took == 300ms);
    auto second = t.timed(t.client->write(t.cli, std::span(data).subspan(*first)), &took);
    CHECK(second.error() == EAGAIN);
    CHECK(took == 300ms);
    // Exactly the bytes taken reach the server, and no more.
    REQUIRE(t.client->shutdown(t.cli, shutdown_how::write));
    std::vector<std::byte> got;
    std::vector<std::byte> buf(16 << 10);
    for (;;) {
        auto n = t.pw.w.run(t.server->read(t.srv, buf));
        REQUIRE(n);
        if (*n == 0) break;
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    CHECK(got.size() == *first);
    CHECK(first_difference(
              got, std::vector<std::byte>(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(
                                                                           *first))) == got.size());
}

TEST_CASE("receive timeout: accept times out with EAGAIN, and takes a connection in time",
          "[tcp][timeout]") {
    timed_pair t;
    REQUIRE(t.server->set_socket_option(t.ls, socket_option::receive_timeout, 200));
    duration took{};
    auto none = t.timed(t.server->accept(t.ls), &took);
    CHECK(none.error() == EAGAIN);
    CHECK(took == 200ms);
    t.client->spawn([&]() -> task<void> {
        (void)co_await t.client->sleep(50ms);
        (void)co_await t.client->connect({b_addr, port(80)});
    });
    auto one = t.timed(t.server->accept(t.ls), &took);
    CHECK(one);
    CHECK(took < 200ms);
}

TEST_CASE("receive timeout: a cancelled read still gives ECANCELED, a closed socket EBADF",
          "[tcp][timeout][cancel]") {
    timed_pair t;
    REQUIRE(t.server->set_socket_option(t.srv, socket_option::receive_timeout, 1000));
    std::array<std::byte, 64> buf{};
    std::stop_source stop;
    result<std::size_t> cancelled = std::size_t{0}, closed = std::size_t{0};
    bool cancelled_done = false, closed_done = false;
    t.server->spawn(as_task([&]() -> task<void> {
                        cancelled = co_await t.server->read(t.srv, buf);
                        cancelled_done = true;
                    }).with_stop_token(stop.get_token()));
    t.pw.w.run_for(100ms);
    stop.request_stop();
    t.pw.w.run_for(1ms);
    REQUIRE(cancelled_done);
    CHECK(cancelled.error() == ECANCELED);
    t.server->spawn([&]() -> task<void> {
        closed = co_await t.server->read(t.srv, buf);
        closed_done = true;
    });
    t.pw.w.run_for(100ms);
    REQUIRE(t.server->close(t.srv));
    t.pw.w.run_for(1ms);
    REQUIRE(closed_done);
    CHECK(closed.error() == EBADF);
}

TEST_CASE("receive timeout: a UDP recv_from is bounded too", "[udp][timeout]") {
    timed_pair t;
    auto rx = t.server->socket(socket_type::datagram).value();
    REQUIRE(t.server->bind(rx, {ipv4_any, port(5000)}));
    REQUIRE(t.server->set_socket_option(rx, socket_option::receive_timeout, 150));
    std::array<std::byte, 64> buf{};
    duration took{};
    auto r = t.timed(t.server->recv_from(rx, buf), &took);
    CHECK(r.error() == EAGAIN);
    CHECK(took == 150ms);
}
