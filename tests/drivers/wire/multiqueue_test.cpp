// multiqueue_port: which queue receives a frame (tun's flow table, else a symmetric hash),
// that every fragment of a datagram shares one queue, that a queue's frames land in its own
// pool, and that what a queue sends leaves through the port.
#include "drivers/wire/multiqueue.hpp"
#include "framework/coronet.hpp"
#include "tests/drivers/frame_bytes.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace coronet;
using coronet::testing::bytes_of;
using coronet::testing::packet_from;

namespace {

constexpr mac_address peer_mac{2, 0, 0, 0, 0, 1}, port_mac{2, 0, 0, 0, 0, 2};
const ipv4_address peer_ip(10, 0, 0, 1), host_ip(10, 0, 0, 2);

nic_config named(const char* name, mac_address mac) {
    nic_config c;
    c.name = name;
    c.mac = mac;
    return c;
}

void put16(std::vector<std::byte>& b, std::size_t at, std::uint16_t v) {
    b[at] = std::byte(static_cast<unsigned char>(v >> 8));
    b[at + 1] = std::byte(static_cast<unsigned char>(v));
}
void put32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
    put16(b, at, static_cast<std::uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<std::uint16_t>(v));
}

// An Ethernet + IPv4 frame of `protocol` between two endpoints; the hash reads only the
// addresses, the protocol, the fragment field and the ports.
std::vector<std::byte> ip_frame(mac_address from_mac, mac_address to_mac, endpoint from,
                                endpoint to, std::uint8_t protocol, std::uint16_t fragment = 0) {
    std::vector<std::byte> b(14 + 20 + 8 + 32);
    to_mac.write_to(std::span(b).subspan(0, 6));
    from_mac.write_to(std::span(b).subspan(6, 6));
    put16(b, 12, 0x0800);
    b[14] = std::byte{0x45};
    put16(b, 16, static_cast<std::uint16_t>(b.size() - 14));
    put16(b, 20, fragment);
    b[22] = std::byte{64};
    b[23] = std::byte{protocol};
    put32(b, 26, from.address.to_uint());
    put32(b, 30, to.address.to_uint());
    if (fragment == 0 || fragment == 0x2000) { // unfragmented, or the first fragment
        put16(b, 34, from.port.value());
        put16(b, 36, to.port.value());
    }
    return b;
}

struct keeper final : frame_sink {
    std::vector<packet> got;
    result<> push(packet&& frame) override {
        got.push_back(std::move(frame));
        return {};
    }
};

struct bench {
    static constexpr buffer_pool_options small{.buffer_size = 2048, .buffer_count = 64};
    virtual_clock clk;
    scheduler s{scheduler::options{.time_source = &clk}};
    counter_registry reg_peer, reg_port, reg_q0, reg_q1;
    buffer_pool pool_peer{small}, pool_port{small}, pool_q0{small}, pool_q1{small};
    wire w{s, {}};
    wire_nic& peer = w.attach(reg_peer, named("eth0", peer_mac), pool_peer);
    std::vector<queue_setup> setup{{&reg_q0, &pool_q0}, {&reg_q1, &pool_q1}};
    multiqueue_port port{w, reg_port, named("eth0", port_mac), pool_port, setup, {.seed = 5}};
    keeper at_peer, at_q[2];
    bench() {
        peer.attach(&at_peer);
        port.queue(0).attach(&at_q[0]);
        port.queue(1).attach(&at_q[1]);
    }
    ~bench() {
        for (auto& q : at_q)
            q.got.clear();
        at_peer.got.clear();
    }
    // Sends `frame` from the peer and returns the queue it reached (-1: none).
    int from_peer(const std::vector<std::byte>& frame) {
        const auto before0 = at_q[0].got.size(), before1 = at_q[1].got.size();
        REQUIRE(peer.transmit(packet_from(pool_peer, frame)));
        s.run_until_idle();
        if (at_q[0].got.size() > before0) return 0;
        if (at_q[1].got.size() > before1) return 1;
        return -1;
    }
};

// A peer port whose flow to `service` the hash puts on queue `q`.
endpoint peer_on(const multiqueue_port& port, const endpoint& service, unsigned q) {
    std::uint16_t p = 40000;
    while (port.hash_queue({{peer_ip, p}, service, 6}) != q)
        ++p;
    return {peer_ip, p};
}

} // namespace

TEST_CASE("multiqueue: a new flow goes where its symmetric hash says, into that queue's pool",
          "[wire][multiqueue]") {
    bench b;
    const endpoint service{host_ip, 80};
    for (unsigned q = 0; q < 2; ++q) {
        const endpoint client = peer_on(b.port, service, q);
        CHECK(b.port.hash_queue({service, client, 6}) == q); // either order
        const auto frame = ip_frame(peer_mac, port_mac, client, service, 6);
        REQUIRE(b.from_peer(frame) == static_cast<int>(q));
        const packet& got = b.at_q[q].got.back();
        CHECK(bytes_of(got) == frame);
        CHECK(got.pool() == (q == 0 ? &b.pool_q0 : &b.pool_q1));
    }
    CHECK(b.port.stats().rx_by_hash.value == 2);
    CHECK(b.port.stats().rx_by_flow_table.value == 0);
    CHECK(b.port.stats().bytes_copied.value == 2 * ip_frame(peer_mac, port_mac, {}, {}, 6).size());
}

TEST_CASE("multiqueue: the queue that sent on a flow receives it, until another one sends",
          "[wire][multiqueue]") {
    bench b;
    const endpoint service{host_ip, 80};
    const endpoint client = peer_on(b.port, service, 0);
    // Queue 1 answers the flow the hash gives to queue 0: the port learns it.
    const auto reply = ip_frame(port_mac, peer_mac, service, client, 6);
    REQUIRE(b.port.queue(1).transmit(packet_from(b.pool_q1, reply)));
    b.s.run_until_idle();
    REQUIRE(b.at_peer.got.size() == 1);
    CHECK(bytes_of(b.at_peer.got[0]) == reply);
    CHECK(b.port.queue_for({client, service, 6}) == 1);
    CHECK(b.from_peer(ip_frame(peer_mac, port_mac, client, service, 6)) == 1);
    CHECK(b.port.stats().rx_by_flow_table.value == 1);
    // Moved back by hand (the kernel changing its mind): the next frame follows.
    b.port.steer({client, service, 6}, 0);
    CHECK(b.from_peer(ip_frame(peer_mac, port_mac, client, service, 6)) == 0);
    CHECK(b.port.flows() == 1);
}

TEST_CASE("multiqueue: the fragments of a datagram share a queue; ARP goes by source MAC",
          "[wire][multiqueue]") {
    bench b;
    // UDP fragments hash on addresses and protocol only: the first (with ports) and the rest
    // (without) land together, wherever the ports of whole datagrams would put them.
    const endpoint from{peer_ip, 5353}, to{host_ip, 53};
    const unsigned q = b.port.hash_queue({{peer_ip, 0}, {host_ip, 0}, 17});
    CHECK(b.from_peer(ip_frame(peer_mac, port_mac, from, to, 17, 0x2000)) == static_cast<int>(q));
    CHECK(b.from_peer(ip_frame(peer_mac, port_mac, from, to, 17, 0x0004)) == static_cast<int>(q));
    // Two ARP frames from one MAC: one queue for both.
    std::vector<std::byte> arp(14 + 28);
    for (std::size_t i = 0; i < 6; ++i)
        arp[i] = std::byte{0xff};
    peer_mac.write_to(std::span(arp).subspan(6, 6));
    put16(arp, 12, 0x0806);
    const int first = b.from_peer(arp);
    CHECK(first >= 0);
    CHECK(b.from_peer(arp) == first);
}
