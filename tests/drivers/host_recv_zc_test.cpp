// The host stack's recv_zc: the kernel receives into buffers of a provided-buffer ring, and
// the caller gets them as packets, with no copy of ours; a zero-copy server (recv_zc, then
// send_zc of what it got) runs on it unchanged. Loopback only.
#include "drivers/host/receive_buffers.hpp"
#include "tests/drivers/host_world.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace coronet;
using namespace coronet::test;

namespace {

std::string text_of(const packet& p) {
    std::string out;
    for (auto s : p.slices()) out.append(reinterpret_cast<const char*>(s.data()), s.size());
    return out;
}

} // namespace

TEST_CASE("host recv_zc: a zero-copy echo server runs on the host stack, byte-exact", "[host][tcp][zc]") {
    host_world w;
    connected_pair c(w);
    const std::string msg = pattern(1 << 20);
    std::size_t packets = 0, largest = 0;
    c.server->spawn([&]() -> task<void> {
        for (;;) {
            auto p = co_await c.server->recv_zc(c.accepted);
            REQUIRE(p);
            if (p->empty()) break; // the client shut its side
            ++packets;
            largest = std::max(largest, p->length());
            CHECK(p->slice_count() == 1); // one ring buffer, as the kernel filled it
            auto sent = co_await c.server->send_zc_all(c.accepted, *p);
            REQUIRE(sent);
        }
        (void)co_await c.server->close(c.accepted);
    });
    std::string back(msg.size(), '\0');
    c.client->spawn([&]() -> task<void> {
        auto sent = co_await c.client->write_all(c.conn, bytes_of(msg));
        REQUIRE(sent);
        REQUIRE(c.client->shutdown(c.conn, shutdown_how::write));
        auto got = co_await c.client->read_exactly(c.conn, std::as_writable_bytes(std::span(back)));
        REQUIRE(got);
        (void)co_await c.client->close(c.conn);
    });
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
    CHECK(back == msg);
    CHECK(packets >= msg.size() / 16384);
    CHECK(largest <= 16384); // host_options' default buffer size
    const auto* buffers = w.stack.lending_buffers_if_made();
    REQUIRE(buffers != nullptr);
    CHECK(buffers->held() == 0); // every packet dropped: every buffer back in the ring
}

TEST_CASE("host recv_zc: max bounds a packet, the end of stream is an empty one", "[host][tcp][zc]") {
    host_world w;
    connected_pair c(w);
    std::vector<std::size_t> sizes;
    std::string got;
    bool ended = false;
    c.client->spawn([&]() -> task<void> {
        const std::string text = pattern(1000);
        auto sent = co_await c.client->write_all(c.conn, bytes_of(text));
        REQUIRE(sent);
        (void)co_await c.client->close(c.conn);
    });
    c.server->spawn([&]() -> task<void> {
        auto none = co_await c.server->recv_zc(c.accepted, 0);
        CHECK(none.error() == EINVAL);
        for (;;) {
            auto p = co_await c.server->recv_zc(c.accepted, 300);
            REQUIRE(p);
            if (p->empty()) {
                ended = true;
                break;
            }
            sizes.push_back(p->length());
            got += text_of(*p);
        }
    });
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
    CHECK(ended);
    CHECK(got.size() == 1000);
    CHECK(got == pattern(1000));
    for (auto n : sizes) CHECK(n <= 300);
}

TEST_CASE("host recv_zc: when callers hold every buffer, nothing is lost", "[host][tcp][zc]") {
    host_world w(host::host_options{.receive_buffers = 4, .receive_buffer_size = 1024});
    connected_pair c(w);
    const std::string msg = pattern(16 * 1024);
    c.client->spawn([&]() -> task<void> {
        auto sent = co_await c.client->write_all(c.conn, bytes_of(msg));
        REQUIRE(sent);
    });
    std::vector<packet> held;
    std::string got;
    int non_blocking_error = 0;
    bool waiter_done = false;
    c.server->spawn([&]() -> task<void> {
        while (held.size() < 4) { // take the whole ring and keep it
            auto p = co_await c.server->recv_zc(c.accepted);
            REQUIRE(p);
            REQUIRE(!p->empty());
            got += text_of(*p);
            held.push_back(std::move(*p));
        }
        REQUIRE(c.server->set_socket_option(c.accepted, socket_option::non_blocking, 1));
        non_blocking_error = (co_await c.server->recv_zc(c.accepted)).error();
        REQUIRE(c.server->set_socket_option(c.accepted, socket_option::non_blocking, 0));
        c.server->spawn([&]() -> task<void> { // waits until a buffer comes back
            while (got.size() < msg.size()) {
                auto p = co_await c.server->recv_zc(c.accepted);
                REQUIRE(p);
                REQUIRE(!p->empty());
                got += text_of(*p);
            }
            waiter_done = true;
        });
    });
    w.sched.run_until([&] { return non_blocking_error != 0; });
    CHECK(non_blocking_error == ENOBUFS);
    const auto* buffers = w.stack.lending_buffers_if_made();
    REQUIRE(buffers != nullptr);
    // The non-blocking call and the waiter's first try found the ring empty.
    w.sched.run_until([&] { return buffers->exhausted() >= 2; });
    CHECK_FALSE(waiter_done); // no buffer to receive into: it waits, the data stays in the kernel
    held.clear();             // the buffers go back to the ring, and the waiter goes on
    w.sched.run_until([&] { return waiter_done; });
    CHECK(got == msg);
    CHECK(buffers->held() == 0);
    c.client->terminate("done");
    c.server->terminate("done");
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
}

TEST_CASE("host recv_zc: closing the socket ends a call that waits for a buffer", "[host][tcp][zc]") {
    host_world w(host::host_options{.receive_buffers = 1, .receive_buffer_size = 64});
    connected_pair c(w);
    c.client->spawn([&]() -> task<void> {
        const std::string text(200, 'q');
        auto sent = co_await c.client->write_all(c.conn, bytes_of(text));
        REQUIRE(sent);
    });
    packet kept;
    int wait_error = 0;
    c.server->spawn([&]() -> task<void> {
        auto p = co_await c.server->recv_zc(c.accepted);
        REQUIRE(p);
        kept = std::move(*p);
        auto q = co_await c.server->recv_zc(c.accepted); // the one buffer is kept: waits
        wait_error = q ? -1 : q.error();
    });
    w.sched.run_until([&] {
        auto* b = w.stack.lending_buffers_if_made();
        return b != nullptr && b->exhausted() >= 1; // the second call found the ring empty
    });
    REQUIRE(!kept.empty());
    CHECK(wait_error == 0);
    REQUIRE(c.server->close(c.accepted));
    w.sched.run_until([&] { return wait_error != 0; });
    CHECK(wait_error == ECANCELED);
    kept = packet{};
    c.client->terminate("done");
    c.server->terminate("done");
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host recv_zc: a datagram socket has none, bad ring options are EINVAL", "[host][zc]") {
    {
        host_world w;
        auto p = process::create("udp", &w.stack);
        auto u = p->socket(socket_type::datagram).value();
        CHECK(w.sched.run(p->recv_zc(u)).error() == EOPNOTSUPP);
    }
    host_world w(host::host_options{.receive_buffer_size = 1000}); // not a multiple of 64
    connected_pair c(w);
    CHECK(w.sched.run(c.server->recv_zc(c.accepted)).error() == EINVAL);
    c.client->terminate("done");
    c.server->terminate("done");
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
}
