// UDP sockets of the native stack, through processes' system calls between two hosts on the
// in-memory wire, and as packet traces on a lone host.
#include "tests/protocols/stack_fixture.hpp"

#include "framework/process/process.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace coronet;
using namespace coronet::testing;
using namespace std::chrono_literals;

namespace {

const mac_address mac_a{0x02, 0, 0, 0, 0, 0x01};
const mac_address mac_b{0x02, 0, 0, 0, 0, 0x02};
const ipv4_address ip_a{10, 0, 0, 1};
const ipv4_address ip_b{10, 0, 0, 2};

// Two hosts on a point-to-point link, 100 us apart.
struct pair_world {
    world w;
    host a{w, "a0", mac_a, {ip_a, 24}};
    host b{w, "b0", mac_b, {ip_b, 24}};
    pair_world() {
        w.settle(); // the announcements, seen by nobody
        a.card.sent.clear();
        b.card.sent.clear();
        connect(a, b, 100us);
    }
};

bytes pattern(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>(i ^ (i >> 8));
    return b;
}

struct lone_host {
    world w;
    host a{w, "eth0", mac_a, {ip_a, 24}};
    lone_host() {
        a.card.inject(ethernet_frame(mac_b, mac_broadcast, ethernet::ethertype::arp,
                                     arp_packet({arp::operation::request, mac_b, ip_b, {}, ip_a})),
                      w.pool);
        w.settle();
        a.card.sent.clear();
    }
    void inject_ip(const bytes& datagram) {
        a.card.inject(ethernet_frame(mac_b, mac_a, ethernet::ethertype::ipv4, datagram), w.pool);
        w.settle();
    }
};

} // namespace

TEST_CASE("udp: a datagram and its answer between two hosts, through system calls", "[udp]") {
    pair_world t;
    auto server = process::create("server", &t.b.stack);
    auto client = process::create("client", &t.a.stack);
    std::string got_by_server, got_by_client;
    endpoint client_seen, server_seen;
    server->spawn([&]() -> task<void> {
        auto h = server->socket(socket_type::datagram).get().value();
        REQUIRE(server->bind(h, {ipv4_any, 7}).get());
        std::array<std::byte, 100> buf;
        auto r = co_await server->recv_from(h, buf);
        REQUIRE(r);
        got_by_server.assign(reinterpret_cast<const char*>(buf.data()), r->size);
        client_seen = r->from;
        auto reply = text("hello back");
        auto sent = co_await server->send_to(h, reply, r->from);
        REQUIRE(sent);
    });
    client->spawn([&]() -> task<void> {
        auto h = client->socket(socket_type::datagram).get().value();
        auto msg = text("hello");
        auto sent = co_await client->send_to(h, msg, {ip_b, 7});
        REQUIRE(sent.value() == 5);
        std::array<std::byte, 100> buf;
        auto r = co_await client->recv_from(h, buf);
        REQUIRE(r);
        got_by_client.assign(reinterpret_cast<const char*>(buf.data()), r->size);
        server_seen = r->from;
        auto name = client->get_socket_name(h).get().value();
        CHECK(name.port == client_seen.port);
    });
    t.w.sched.run(client->join());
    t.w.sched.run(server->join());
    CHECK(got_by_server == "hello");
    CHECK(got_by_client == "hello back");
    CHECK(client_seen.address == ip_a);
    CHECK(client_seen.port.value() >= 49152);
    CHECK(server_seen == endpoint{ip_b, 7});
    CHECK(t.a.counter("udp.out_datagrams") == 1);
    CHECK(t.b.counter("udp.in_datagrams") == 1);
    CHECK(t.a.counter("udp.bytes_copied_in") == 5);
    CHECK(t.a.counter("udp.bytes_copied_out") == 10);
}

TEST_CASE("udp: a 65507-byte datagram goes out in fragments and comes back whole", "[udp]") {
    pair_world t;
    auto p = process::create("big", &t.a.stack);
    auto q = process::create("echo", &t.b.stack);
    const auto data = pattern(65507);
    bytes got(70000);
    datagram_info info;
    q->spawn([&]() -> task<void> {
        auto h = q->socket(socket_type::datagram).get().value();
        REQUIRE(q->bind(h, {ip_b, 9}).get());
        bytes buf(70000);
        auto r = co_await q->recv_from(h, buf);
        REQUIRE(r);
        auto s = co_await q->send_to(h, std::span(buf).first(r->size), r->from);
        REQUIRE(s);
    });
    p->spawn([&]() -> task<void> {
        auto h = p->socket(socket_type::datagram).get().value();
        auto too_big = co_await p->send_to(h, pattern(65508), {ip_b, 9});
        CHECK(too_big.error() == EMSGSIZE);
        auto s = co_await p->send_to(h, data, {ip_b, 9});
        REQUIRE(s.value() == 65507);
        auto r = co_await p->recv_from(h, got);
        REQUIRE(r);
        info = *r;
    });
    t.w.sched.run(p->join());
    t.w.sched.run(q->join());
    REQUIRE(info.size == 65507);
    CHECK_FALSE(info.truncated);
    got.resize(info.size);
    CHECK(got == data);
    // 65515 bytes of IP payload in 1480-byte pieces: 45 fragments each way.
    CHECK(t.a.counter("ipv4.frag_creates") == 45);
    CHECK(t.b.counter("ipv4.reasm_oks") == 1);
    CHECK(t.a.counter("ipv4.reasm_oks") == 1);
}

TEST_CASE("udp: EADDRINUSE, and closing the last handle frees the port", "[udp]") {
    lone_host t;
    auto p = process::create("binder", &t.a.stack);
    auto h1 = p->socket(socket_type::datagram).get().value();
    auto h2 = p->socket(socket_type::datagram).get().value();
    REQUIRE(p->bind(h1, {ip_a, 53}).get());
    CHECK(p->bind(h2, {ip_a, 53}).get().error() == EADDRINUSE);
    CHECK(p->bind(h2, {ipv4_any, 53}).get().error() == EADDRINUSE);
    CHECK(p->bind(h2, {ipv4_address{10, 9, 9, 9}, 54}).get().error() == EADDRNOTAVAIL);
    CHECK(p->bind(h1, {ip_a, 55}).get().error() == EINVAL); // bound already
    REQUIRE(p->close(h1).get());
    CHECK(p->bind(h2, {ipv4_any, 53}).get());
    CHECK(t.a.stack.udp().lookup({ip_a, 53}, {ip_b, 1}) != nullptr);
}

TEST_CASE("udp: ephemeral ports come from 49152-65535, from a random start", "[udp]") {
    lone_host t;
    std::vector<ref<socket_object>> sockets;
    std::set<std::uint16_t> ports;
    for (int i = 0; i < 200; ++i) {
        sockets.push_back(t.a.stack.socket(socket_type::datagram).value());
        REQUIRE(sockets.back()->bind({ipv4_any, 0}));
        const auto port = sockets.back()->local_endpoint().value().port.value();
        CHECK(port >= 49152);
        ports.insert(port);
    }
    CHECK(ports.size() == 200);
    CHECK(*ports.begin() != 49152); // the start is random, not the bottom of the range
    // Another seed, another start.
    native::options o;
    o.seed = 99;
    world w2;
    host other(w2, "eth0", mac_a, {ip_a, 24}, o);
    auto s = other.stack.socket(socket_type::datagram).value();
    REQUIRE(s->bind({ipv4_any, 0}));
    CHECK(s->local_endpoint().value().port.value() != *ports.begin());
}

TEST_CASE("udp: bad checksums are dropped and counted, a zero checksum is accepted", "[udp]") {
    lone_host t;
    ref<socket_object> keep = t.a.stack.socket(socket_type::datagram).value();
    auto& s = static_cast<udp::socket&>(*keep);
    REQUIRE(s.bind({ipv4_any, 9}));
    auto good = udp_datagram(ip_b, ip_a, 4000, 9, text("data"));
    auto bad = good;
    bad[udp::field::checksum + 1] ^= std::byte{0x40};
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 1), bad));
    CHECK(t.a.counter("udp.in_csum_errors") == 1);
    CHECK(t.a.counter("udp.in_errors") == 1);
    CHECK(s.queued_datagrams() == 0);
    auto none = good;
    store_be16(std::span(none).subspan(udp::field::checksum), 0); // RFC 768: no checksum
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 2), none));
    CHECK(s.queued_datagrams() == 1);
    // A length field beyond the IP payload is malformed.
    auto longer = good;
    store_be16(std::span(longer).subspan(udp::field::length), 200);
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 3), longer));
    CHECK(t.a.counter("udp.in_errors") == 2);
    CHECK(t.a.counter("udp.in_datagrams") == 1);
    CHECK(t.a.card.sent.empty());
}

TEST_CASE("udp: a full receive queue drops and counts; recv_from truncates", "[udp]") {
    lone_host t;
    auto p = process::create("reader", &t.a.stack);
    auto h = p->socket(socket_type::datagram).get().value();
    REQUIRE(p->bind(h, {ipv4_any, 9}).get());
    REQUIRE(p->set_socket_option(h, socket_option::receive_buffer, 5000).get());
    CHECK(p->get_socket_option(h, socket_option::receive_buffer).get().value() == 5000);
    for (int i = 0; i < 5; ++i)
        t.inject_ip(
            ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, static_cast<std::uint16_t>(i)),
                        udp_datagram(ip_b, ip_a, 4000, 9, pattern(400))));
    // Each datagram is charged the 2 KiB buffer it pins, not its 400 bytes: two fit in 5000,
    // the third would pass it.
    CHECK(t.a.counter("udp.rcvbuf_errors") == 3);
    CHECK(t.a.counter("udp.in_datagrams") == 2);
    std::array<std::byte, 16> small;
    auto r = p->recv_from(h, small);
    datagram_info info = t.w.sched.run(std::move(r)).value();
    CHECK(info.size == 16);
    CHECK(info.truncated);
    CHECK(info.from == endpoint{ip_b, 4000});
    CHECK(std::equal(small.begin(), small.end(), pattern(16).begin()));
    // The rest of that datagram is gone; the next one is whole.
    bytes big(1000);
    info = t.w.sched.run(p->recv_from(h, big)).value();
    CHECK(info.size == 400);
    CHECK_FALSE(info.truncated);
    // Nothing left: a non-blocking socket says EAGAIN instead of waiting.
    REQUIRE(p->set_socket_option(h, socket_option::non_blocking, 1).get());
    CHECK(t.w.sched.run(p->recv_from(h, big)).error() == EAGAIN);
}

TEST_CASE("udp: connect fixes the peer; write needs one, read takes only from it", "[udp]") {
    lone_host t;
    auto p = process::create("conn", &t.a.stack);
    auto h = p->socket(socket_type::datagram).get().value();
    CHECK(t.w.sched.run(p->write(h, text("x"))).error() == EDESTADDRREQ);
    CHECK(p->get_peer_name(h).get().error() == ENOTCONN);
    REQUIRE(t.w.sched.run(p->connect(h, {ip_b, 7})));
    CHECK(p->get_peer_name(h).get().value() == endpoint{ip_b, 7});
    const auto local = p->get_socket_name(h).get().value();
    REQUIRE(t.w.sched.run(p->write(h, text("hi"))).value() == 2);
    t.w.settle();
    CHECK(t.a.card.sent.size() == 1);
    // From a stranger: not for this socket (port unreachable goes back).
    t.inject_ip(ip_datagram(ip_header({10, 0, 0, 3}, ip_a, ipv4::protocol::udp, 1),
                            udp_datagram({10, 0, 0, 3}, ip_a, 7, local.port, text("spoof"))));
    CHECK(t.a.counter("udp.no_ports") == 1);
    t.inject_ip(ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, 2),
                            udp_datagram(ip_b, ip_a, 7, local.port, text("real"))));
    std::array<std::byte, 10> buf;
    CHECK(t.w.sched.run(p->read(h, buf)).value() == 4);
}

TEST_CASE("udp: a stream socket is TCP's, not UDP's", "[udp]") {
    lone_host t;
    auto p = process::create("tcp?", &t.a.stack);
    CHECK(p->socket(socket_type::stream).get());
    CHECK(t.a.stack.udp().bound_ports() == 0);
}

TEST_CASE("udp: a flood of zero-length and 1-byte datagrams to a socket nobody reads pins a "
          "bounded number of buffers, and the pool is whole once it closes",
          "[udp][memory][adversarial]") {
    lone_host t;
    auto p = process::create("idle", &t.a.stack);
    auto h = p->socket(socket_type::datagram).get().value();
    REQUIRE(p->bind(h, {ipv4_any, 9}).get());
    const auto in_use_before = t.w.pool.in_use();
    for (int i = 0; i < 20000; ++i)
        t.inject_ip(
            ip_datagram(ip_header(ip_b, ip_a, ipv4::protocol::udp, static_cast<std::uint16_t>(i)),
                        udp_datagram(ip_b, ip_a, 4000, 9, pattern(i % 2))));
    // The default 212,992 bytes of receive buffer hold 104 datagrams of one 2 KiB buffer
    // each, whatever their length (a byte count would have let all 20,000 in: 10,000 bytes).
    CHECK(t.a.counter("udp.in_datagrams") == 104);
    CHECK(t.a.counter("udp.rcvbuf_errors") == 20000 - 104);
    CHECK(t.a.counter("memory.udp_receive_buffers") == 104);
    CHECK(t.w.pool.in_use() == in_use_before + 104);
    REQUIRE(p->close(h).get());
    CHECK(t.a.counter("memory.udp_receive_buffers") == 0);
    CHECK(t.w.pool.in_use() == in_use_before);
}
