// The host stack's sends: one sendmsg in the kernel at a time per socket, writes served
// whole and in the order they were called (send_turn.hpp), and zero-copy sends above
// host_options::zero_copy_threshold, which hold the caller's buffers until the kernel's
// notification. Loopback only.
#include "tests/drivers/host_world.hpp"

#include <cstring>
#include <string>
#include <vector>

using namespace coronet;
using namespace coronet::test;

namespace {

// One write of the many-writers case: a 12-byte head (writer, sequence number, payload
// length) and a payload that only this write has.
struct record_head {
    std::uint32_t writer, seq, length;
};
std::byte payload_byte(std::uint32_t writer, std::uint32_t seq, std::size_t i) {
    return static_cast<std::byte>((writer * 31 + seq * 7 + i) % 251);
}
std::vector<std::byte> record(std::uint32_t writer, std::uint32_t seq, std::uint32_t length) {
    std::vector<std::byte> r(sizeof(record_head) + length);
    const record_head h{writer, seq, length};
    std::memcpy(r.data(), &h, sizeof h);
    for (std::size_t i = 0; i < length; ++i)
        r[sizeof h + i] = payload_byte(writer, seq, i);
    return r;
}

// `outs.size()` writers of `big` on the client's end, each result into its place in
// `outs`: all of them started, the first one's send in the kernel and the others waiting
// for their turn. The server does not read, and its window is small: the first send waits.
void start_blocked_writers(host_world& w, connected_pair& c, const std::vector<std::byte>& big,
                           std::vector<result<std::size_t>>& outs) {
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::receive_buffer, 8192));
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::send_buffer, 8192));
    std::size_t started = 0;
    for (auto& out : outs) {
        c.client->spawn([&c, &big, &started, &out]() -> task<void> {
            ++started;
            out = co_await c.client->write(c.conn, big);
        });
    }
    w.sched.run_until([&] { return started == outs.size(); });
    for (int i = 0; i < 10; ++i)
        w.sched.run_once(false); // the first send reaches the kernel
}

} // namespace

TEST_CASE("host send: many writers on one socket, each write arrives whole and in call order",
          "[host][tcp][send]") {
    host_world w;
    connected_pair c(w);
    // A small window and a reader that takes 4 KiB at a time: the writes' sends come back
    // short, and each must continue before the next write's first byte.
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::receive_buffer, 8192));
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::send_buffer, 8192));
    constexpr std::uint32_t writers = 8, writes_each = 6;
    auto length_of = [](std::uint32_t id, std::uint32_t seq) {
        return 1024 * (1 + (id * 7 + seq * 13) % 48);
    };
    std::size_t expected_bytes = 0;
    for (std::uint32_t id = 0; id < writers; ++id)
        for (std::uint32_t seq = 0; seq < writes_each; ++seq)
            expected_bytes += sizeof(record_head) + length_of(id, seq);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> called; // (writer, seq) as called
    int failed_writes = 0;
    for (std::uint32_t id = 0; id < writers; ++id) {
        c.client->spawn([&, id]() -> task<void> {
            for (std::uint32_t seq = 0; seq < writes_each; ++seq) {
                const auto r = record(id, seq, length_of(id, seq));
                called.emplace_back(id, seq);
                auto n = co_await c.client->write(c.conn, r);
                if (!n || *n != r.size()) ++failed_writes; // a blocking write goes whole
                co_await yield{};                          // let the others queue in between
            }
        });
    }
    std::vector<std::byte> got;
    c.server->spawn([&]() -> task<void> {
        std::vector<std::byte> buf(4096);
        while (got.size() < expected_bytes) {
            auto n = co_await c.server->read(c.accepted, buf);
            REQUIRE(n);
            if (*n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
    });
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
    CHECK(failed_writes == 0);
    REQUIRE(got.size() == expected_bytes);
    CHECK(w.stack.stats().sends > writers * writes_each); // some sends were short
    // Parse the stream back into records: each whole, in the order the writes were called.
    std::size_t at = 0, bad_payloads = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> arrived;
    while (at + sizeof(record_head) <= got.size()) {
        record_head h{};
        std::memcpy(&h, got.data() + at, sizeof h);
        at += sizeof h;
        REQUIRE(h.writer < writers);
        REQUIRE(at + h.length <= got.size());
        for (std::size_t i = 0; i < h.length; ++i)
            if (got[at + i] != payload_byte(h.writer, h.seq, i)) {
                ++bad_payloads;
                break;
            }
        at += h.length;
        arrived.emplace_back(h.writer, h.seq);
    }
    CHECK(at == got.size());
    CHECK(bad_payloads == 0);
    CHECK(arrived == called);
}

TEST_CASE("host send: closing the handle ends the write in the kernel and the writers waiting",
          "[host][tcp][send][cancel]") {
    host_world w;
    connected_pair c(w);
    const std::vector<std::byte> big(4 << 20, std::byte{'x'});
    std::vector<result<std::size_t>> outs(3, error{0});
    start_blocked_writers(w, c, big, outs);
    // A non-blocking write would overtake the queue: EAGAIN instead.
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::non_blocking, 1));
    result<std::size_t> overtaking = error{0};
    w.sched.run(
        as_task([&]() -> task<void> { overtaking = co_await c.client->write(c.conn, big); }));
    REQUIRE(c.client->set_socket_option(c.conn, socket_option::non_blocking, 0));
    CHECK(overtaking.error() == EAGAIN);
    REQUIRE(c.client->close(c.conn));
    w.sched.run(c.client->join());
    // The first had its bytes taken in part (or none, if the close came first).
    if (outs[0]) {
        CHECK(*outs[0] > 0);
        CHECK(*outs[0] < big.size());
    } else {
        CHECK(outs[0].error() == ECANCELED);
    }
    CHECK(outs[1].error() == ECANCELED);
    CHECK(outs[2].error() == ECANCELED);
    REQUIRE(c.server->close(c.accepted));
    REQUIRE(c.server->close(c.ls)); // its multishot accept is in the kernel too
    CHECK(w.sched.run_until([&] { return w.reactor.in_flight() == 0; }));
}

TEST_CASE("host send: a reset by the peer ends the write in the kernel and the writers waiting",
          "[host][tcp][send]") {
    host_world w;
    connected_pair c(w);
    const std::vector<std::byte> big(4 << 20, std::byte{'y'});
    std::vector<result<std::size_t>> outs(2, error{0});
    start_blocked_writers(w, c, big, outs);
    REQUIRE(c.server->set_socket_option(c.accepted, socket_option::linger, 0));
    REQUIRE(c.server->close(c.accepted)); // a reset
    w.sched.run(c.client->join());
    // The first returns what it had taken; the second finds the connection gone.
    if (outs[0]) {
        CHECK(*outs[0] > 0);
        CHECK(*outs[0] < big.size());
    } else {
        CHECK((outs[0].error() == ECONNRESET || outs[0].error() == EPIPE));
    }
    REQUIRE_FALSE(outs[1]);
    CHECK((outs[1].error() == ECONNRESET || outs[1].error() == EPIPE));
}

TEST_CASE("host send: writes at or above the zero-copy threshold go as send_zc, byte-exact",
          "[host][tcp][send][zero_copy]") {
    const std::size_t threshold = GENERATE(std::size_t{0}, std::size_t{64} << 10);
    CAPTURE(threshold);
    host_world w(host::host_options{.zero_copy_threshold = threshold});
    connected_pair c(w);
    const std::string small = pattern(1000), large = pattern(1 << 20);
    std::uint64_t zc_after_small = 0;
    c.client->spawn([&]() -> task<void> {
        auto s = co_await c.client->write_all(c.conn, bytes_of(small));
        REQUIRE(s);
        zc_after_small = w.stack.stats().zero_copy_sends;
        auto l = co_await c.client->write_all(c.conn, bytes_of(large));
        REQUIRE(l);
        REQUIRE(c.client->shutdown(c.conn, shutdown_how::write));
    });
    std::string got;
    c.server->spawn([&]() -> task<void> {
        std::vector<std::byte> buf(64 << 10);
        for (;;) {
            auto n = co_await c.server->read(c.accepted, buf);
            REQUIRE(n);
            if (*n == 0) break;
            got.append(reinterpret_cast<const char*>(buf.data()), *n);
        }
    });
    w.sched.run(c.client->join());
    w.sched.run(c.server->join());
    CHECK(got == small + large);
    CHECK(zc_after_small == 0); // below the threshold: a plain send
    const auto& st = w.stack.stats();
    if (threshold == 0) {
        CHECK(st.zero_copy_sends == 0);
    } else {
        CHECK(st.zero_copy_sends >= 1);
        // Loopback delivers locally, and the kernel copies such pages after all.
        CHECK(st.zero_copy_copied == st.zero_copy_sends);
    }
}

TEST_CASE("host send: send_zc above the threshold holds the packet's buffers until the "
          "kernel's notification",
          "[host][tcp][send][zero_copy]") {
    host_world w(host::host_options{.zero_copy_threshold = 16 << 10});
    connected_pair c(w);
    buffer_pool pool({.buffer_size = 16 << 10, .buffer_count = 4});
    // Each buffer's release records what was still in the kernel then: the send that carried
    // it must have ended, its notification included (nobody reads yet: nothing else is).
    std::vector<std::size_t> in_flight_at_release;
    const std::size_t before = w.reactor.in_flight(); // the listener's multishot accept
    pool.on_release([&](std::uint32_t index) {
        in_flight_at_release.push_back(w.reactor.in_flight() - before);
        pool.recycle(index);
    });
    packet data;
    std::string want;
    for (int i = 0; i < 2; ++i) {
        auto b = pool.allocate().value();
        for (std::size_t k = 0; k < b.data().size(); ++k)
            b.data()[k] = static_cast<std::byte>('a' + (i + k) % 26);
        REQUIRE(data.append_slice(b, 0, static_cast<std::uint32_t>(b.data().size())));
        want.append(reinterpret_cast<const char*>(b.data().data()), b.data().size());
    }
    // 32 KiB fits in the loopback connection's buffers: the send ends without a reader.
    result<> sent = error{0};
    w.sched.run(
        as_task([&]() -> task<void> { sent = co_await c.client->send_zc_all(c.conn, data); }));
    REQUIRE(sent);
    data.reset();
    CHECK(in_flight_at_release == std::vector<std::size_t>{0, 0});
    CHECK(w.stack.stats().zero_copy_sends == 1); // one sendmsg gathered both
    std::string got(want.size(), '\0');
    result<> read = error{0};
    w.sched.run(as_task([&]() -> task<void> {
        read = co_await c.server->read_exactly(c.accepted, std::as_writable_bytes(std::span(got)));
    }));
    REQUIRE(read);
    CHECK(got == want);
    CHECK(pool.in_use() == 0);
}
