// recv_zc and send_zc between two simulated hosts: the bytes arrive intact, nothing is copied
// (the stack's copy counters stay at zero), every lent or handed-over buffer goes back to its
// pool once released or acknowledged, and the calls fail as read and write do.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <stop_token>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

// `bytes` laid into buffers of `pool` the way a zero-copy writer would: fill a buffer, chain
// it (the buffer is shared by the packet from then on, never written again).
packet payload(buffer_pool& pool, std::span<const std::byte> bytes) {
    packet p;
    while (!bytes.empty()) {
        auto b = pool.allocate().value();
        const std::size_t n = std::min<std::size_t>(bytes.size(), pool.buffer_size());
        std::memcpy(b.data().data(), bytes.data(), n);
        p.append_slice(b, 0, static_cast<std::uint32_t>(n)).value();
        bytes = bytes.subspan(n);
    }
    return p;
}

void append_bytes(std::vector<std::byte>& out, const packet& p) {
    for (auto s : p.slices())
        out.insert(out.end(), s.begin(), s.end());
}

struct zc_pair {
    // The user's pool outlives the world: the sender's socket holds its buffers until acked.
    // Segments in flight share its buffers, each share a descriptor of this pool: plenty.
    buffer_pool user{{.buffer_size = 4096, .buffer_count = 1024, .slice_count = 16384}};
    pair_world pw;
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    zc_pair() { (void)pw.w.run(pw.a.stack().ping(b_addr)); } // ARP settled before baselines
    ~zc_pair() {
        server->terminate("test over");
        client->terminate("test over");
        pw.w.run(server->join());
        pw.w.run(client->join());
    }
};

} // namespace

TEST_CASE("tcp zero copy: send_zc to recv_zc moves 2 MiB intact and copies nothing",
          "[tcp][zero_copy]") {
    zc_pair z;
    const auto data = pattern(2 << 20, 11);
    const auto a_in_use = z.pw.a.pool().in_use();
    const auto b_in_use = z.pw.b.pool().in_use();
    std::vector<std::byte> got;
    bool server_done = false, client_done = false;
    std::size_t max_slices_held = 0;
    bool oversize = false;
    int send_error = 0;
    process* sp = z.server.get();
    process* cp = z.client.get();
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get().value();
        auto c = (co_await sp->accept(ls)).value();
        for (;;) {
            auto p = co_await sp->recv_zc(c, 100'000); // odd sizes: slices get cut
            if (!p) break;
            if (p->empty()) { // end of stream
                server_done = true;
                break;
            }
            if (p->length() > 100'000) oversize = true;
            max_slices_held = std::max<std::size_t>(max_slices_held, p->slice_count());
            append_bytes(got, *p);
        } // each packet released here: its buffers go back to b's pool
        (void)sp->close(c).get();
        (void)sp->close(ls).get();
    });
    cp->spawn([&]() -> task<void> {
        auto c = (co_await cp->connect({b_addr, 80})).value();
        for (std::size_t off = 0; off < data.size(); off += 300'000) {
            const std::size_t n = std::min<std::size_t>(300'000, data.size() - off);
            packet p = payload(z.user, std::span(data).subspan(off, n));
            auto r = co_await cp->send_zc_all(c, p);
            if (!r) {
                send_error = r.error();
                co_return;
            }
        }
        (void)cp->shutdown(c, shutdown_how::write).get();
        (void)cp->close(c).get();
        client_done = true;
    });
    z.pw.w.run_until([&] { return server_done && client_done; }, 600s);
    INFO("received " << got.size() << ", send error " << send_error);
    REQUIRE(client_done);
    REQUIRE(server_done);
    CHECK(got.size() == data.size());
    CHECK(first_difference(got, data) == data.size());
    CHECK(max_slices_held > 0);
    CHECK_FALSE(oversize);
    CHECK(z.pw.tcp_counter(z.pw.a, "bytes_copied_in") == 0);
    CHECK(z.pw.tcp_counter(z.pw.b, "bytes_copied_out") == 0);
    // Everything acknowledged and released: every buffer is back in its pool.
    z.pw.w.run_for(120s);
    CHECK(z.user.in_use() == 0);
    CHECK(z.user.available() == z.user.buffer_count());
    CHECK(z.user.slices().in_use() == 0);
    CHECK(z.pw.a.pool().in_use() == a_in_use);
    CHECK(z.pw.b.pool().in_use() == b_in_use);
}

TEST_CASE("tcp zero copy: a lent packet holds its buffers until released", "[tcp][zero_copy]") {
    zc_pair z;
    const auto data = pattern(20'000, 12);
    const auto b_in_use = z.pw.b.pool().in_use();
    process* sp = z.server.get();
    process* cp = z.client.get();
    handle conn;
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get().value();
        conn = (co_await sp->accept(ls)).value();
    });
    cp->spawn([&]() -> task<void> {
        auto c = (co_await cp->connect({b_addr, 80})).value();
        (void)co_await cp->write_all(c, data); // write copies; the receiver lends
    });
    z.pw.w.run_for(1s);
    std::optional<packet> lent;
    sp->spawn([&]() -> task<void> {
        auto p = co_await sp->recv_zc(conn);
        if (p) lent = std::move(*p);
    });
    z.pw.w.run_for(10ms);
    REQUIRE(lent.has_value());
    REQUIRE(lent->length() == data.size());
    const auto held = z.pw.b.pool().in_use();
    CHECK(held > b_in_use); // the received frames' buffers are the packet's now
    std::vector<std::byte> got;
    append_bytes(got, *lent);
    CHECK(first_difference(got, data) == data.size());
    lent.reset();
    CHECK(z.pw.b.pool().in_use() < held);
    z.pw.w.run_for(1s); // the ACKs sent meanwhile are gone from the wire too
    CHECK(z.pw.b.pool().in_use() == b_in_use);
    CHECK(z.pw.tcp_counter(z.pw.b, "bytes_copied_out") == 0);
}

TEST_CASE("tcp zero copy: errors as read and write give them", "[tcp][zero_copy]") {
    zc_pair z;
    process* cp = z.client.get();
    SECTION("EBADF on a handle that names nothing") {
        auto r = z.pw.w.run(cp->recv_zc(handle(4000)));
        CHECK(r.error() == EBADF);
        packet p = payload(z.user, pattern(10, 1));
        auto s = z.pw.w.run(cp->send_zc(handle(4000), p));
        CHECK(s.error() == EBADF);
        CHECK(p.length() == 10); // nothing taken
    }
    SECTION("ENOTCONN before connect") {
        auto h = cp->socket(socket_type::stream).get().value();
        auto r = z.pw.w.run(cp->recv_zc(h));
        CHECK(r.error() == ENOTCONN);
        packet p = payload(z.user, pattern(10, 1));
        auto s = z.pw.w.run(cp->send_zc(h, p));
        CHECK(s.error() == ENOTCONN);
        CHECK(p.length() == 10);
    }
    SECTION("EOPNOTSUPP on a UDP socket") {
        auto h = cp->socket(socket_type::datagram).get().value();
        auto r = z.pw.w.run(cp->recv_zc(h));
        CHECK(r.error() == EOPNOTSUPP);
        packet p = payload(z.user, pattern(10, 1));
        auto s = z.pw.w.run(cp->send_zc(h, p));
        CHECK(s.error() == EOPNOTSUPP);
    }
    SECTION("EACCES without the read or write right") {
        auto h = cp->socket(socket_type::stream).get().value();
        auto ro = cp->duplicate_handle(h, *cp, access::read).get().value();
        packet p = payload(z.user, pattern(10, 1));
        auto s = z.pw.w.run(cp->send_zc(ro, p));
        CHECK(s.error() == EACCES);
        auto wo = cp->duplicate_handle(h, *cp, access::write).get().value();
        auto r = z.pw.w.run(cp->recv_zc(wo));
        CHECK(r.error() == EACCES);
    }
}

TEST_CASE("tcp zero copy: non-blocking EAGAIN, end of stream, cancellation, EPIPE",
          "[tcp][zero_copy]") {
    zc_pair z;
    process* sp = z.server.get();
    process* cp = z.client.get();
    handle server_conn, client_conn;
    sp->spawn([&]() -> task<void> {
        auto ls = sp->listen({ipv4_any, 80}).get().value();
        server_conn = (co_await sp->accept(ls)).value();
    });
    cp->spawn([&]() -> task<void> { client_conn = (co_await cp->connect({b_addr, 80})).value(); });
    z.pw.w.run_for(1s);
    REQUIRE(server_conn);
    REQUIRE(client_conn);

    SECTION("EINVAL for max 0 (an empty packet would mean end of stream)") {
        auto r = z.pw.w.run(sp->recv_zc(server_conn, 0));
        CHECK(r.error() == EINVAL);
    }
    SECTION("non-blocking: EAGAIN with nothing received, and with the send buffer full") {
        (void)sp->set_socket_option(server_conn, socket_option::non_blocking, 1).get();
        auto r = z.pw.w.run(sp->recv_zc(server_conn));
        CHECK(r.error() == EAGAIN);
        (void)cp->set_socket_option(client_conn, socket_option::non_blocking, 1).get();
        (void)cp->set_socket_option(client_conn, socket_option::send_buffer, 8000).get();
        packet p = payload(z.user, pattern(20'000, 3));
        auto s = z.pw.w.run(cp->send_zc(client_conn, p));
        REQUIRE(s);
        CHECK(*s == 8000); // what fits; the rest stays with the caller
        CHECK(p.length() == 12'000);
        auto again = z.pw.w.run(cp->send_zc(client_conn, p));
        CHECK(again.error() == EAGAIN);
        CHECK(p.length() == 12'000);
    }
    SECTION("an empty packet at end of stream") {
        (void)cp->shutdown(client_conn, shutdown_how::write).get();
        z.pw.w.run_for(100ms);
        auto r = z.pw.w.run(sp->recv_zc(server_conn));
        REQUIRE(r);
        CHECK(r->empty());
    }
    SECTION("a waiting recv_zc ends with ECANCELED when its stop token fires") {
        std::stop_source stop;
        int err = 0;
        bool done = false;
        sp->spawn([&]() -> task<void> {
            auto r = co_await sp->recv_zc(server_conn).with_stop_token(stop.get_token());
            err = r ? 0 : r.error();
            done = true;
        });
        z.pw.w.run_for(10ms);
        CHECK_FALSE(done);
        stop.request_stop();
        z.pw.w.run_for(10ms);
        CHECK(done);
        CHECK(err == ECANCELED);
    }
    SECTION("send_zc after shutdown(write) is EPIPE and takes nothing") {
        (void)cp->shutdown(client_conn, shutdown_how::write).get();
        packet p = payload(z.user, pattern(100, 3));
        auto s = z.pw.w.run(cp->send_zc(client_conn, p));
        CHECK(s.error() == EPIPE);
        CHECK(p.length() == 100);
    }
}

namespace {

// `data` from `user`'s buffers to a server that reads it to the end, in one send_zc_all; the
// world stays for the checks afterwards, and its processes end with the fixture.
struct zc_upload {
    pair_world pw;
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    std::vector<std::byte> got;
    bool done = false;
    int send_error = 0;

    zc_upload(buffer_pool& user, const std::vector<std::byte>& data) {
        server->spawn([this, sp = server.get()]() -> task<void> {
            auto ls = sp->listen({ipv4_any, 80}).get().value();
            auto c = (co_await sp->accept(ls)).value();
            std::vector<std::byte> buf(65536);
            for (;;) {
                auto n = co_await sp->read(c, buf);
                if (!n || *n == 0) break;
                got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
            }
            done = true;
            (void)sp->close(c).get();
            (void)sp->close(ls).get();
        });
        client->spawn([this, &user, &data, cp = client.get()]() -> task<void> {
            auto c = (co_await cp->connect({b_addr, 80})).value();
            packet p = payload(user, data);
            if (auto r = co_await cp->send_zc_all(c, p); !r) send_error = r.error();
            (void)cp->close(c).get();
        });
        pw.w.run_until([this] { return done; }, 60s);
    }
    ~zc_upload() {
        server->terminate("test over");
        client->terminate("test over");
        pw.w.run(server->join());
        pw.w.run(client->join());
    }
};

} // namespace

TEST_CASE("tcp zero copy: segments of send_zc data take their headers from the stack's pool, "
          "never from the pool the data came from",
          "[tcp][zero_copy]") {
    // Eight 64 KiB buffers, all of them data: a header buffer taken from this pool would
    // find none (and before, each segment in flight held a 64 KiB buffer for 54 bytes).
    buffer_pool big{{.buffer_size = 65536, .buffer_count = 8, .slice_count = 4096}};
    const auto data = pattern(8 * 65536, 5);
    zc_upload z(big, data);
    INFO("send error " << z.send_error);
    REQUIRE(z.done);
    CHECK(z.got.size() == data.size());
    CHECK(first_difference(z.got, data) == data.size());
    CHECK(big.high_water() == 8); // the data, nothing else
    CHECK(z.pw.tcp_counter(z.pw.a, "no_buffers") == 0);
    z.pw.w.run_for(120s);
    CHECK(big.in_use() == 0);
}

TEST_CASE("tcp zero copy: send_zc from a pool with few descriptors copies what it cannot share, "
          "instead of spinning",
          "[tcp][zero_copy]") {
    // Eight 16 KiB buffers with the default two descriptors each: the send buffer holds eight
    // of the sixteen, so a flight of more than about eight segments cannot share the rest.
    // Before, each such segment failed, freed its header buffer and so woke its own wait for
    // the stack's pool: the sender spun at one instant and virtual time never moved on.
    buffer_pool few{{.buffer_size = 16384, .buffer_count = 8}};
    const auto data = pattern(8 * 16384, 6);
    zc_upload z(few, data);
    INFO("send error " << z.send_error);
    REQUIRE(z.done);
    CHECK(z.got.size() == data.size());
    CHECK(first_difference(z.got, data) == data.size());
    const auto copied = z.pw.tcp_counter(z.pw.a, "send_zc_copied");
    CHECK(copied > 0);           // some segments could not share
    CHECK(copied < data.size()); // and the others did
    z.pw.w.run_for(120s);
    CHECK(few.in_use() == 0);
}
