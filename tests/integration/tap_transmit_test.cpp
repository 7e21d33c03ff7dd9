// coronet -> kernel over a TAP device: frames built with the wire formats, written with one
// writev each (virtio header, then the packet's slices). The kernel learns coronet's MAC
// from an ARP reply, and answers an ICMP echo request, which comes back through receive:
// transmit and receive end to end, without a stack.
#include "tests/integration/tap_world.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::test;

namespace {

bool kernel_knows_coronet(const std::string& dev) {
    auto r = run({"ip", "neigh", "show", "dev", dev});
    return r.out.find("10.0.0.2 lladdr 02:c0:7e:00:00:02") != std::string::npos;
}

// Answers the kernel's ARP requests for 10.0.0.2 among the frames caught so far.
struct arp_responder {
    std::size_t seen = 0;
    std::size_t answered = 0;
    void operator()(tap_world& w) {
        for (; seen < w.catcher.frames.size(); ++seen) {
            auto a = as_arp(contents(w.catcher.frames[seen]));
            if (!a || a->operation != arp::operation::request || a->target_ip != coronet_ip)
                continue;
            auto reply =
                arp_frame(arp::operation::reply, a->sender_mac, a->sender_mac, a->sender_ip);
            if (w.nic->transmit(packet_of(w.tx_pool, reply))) ++answered;
        }
    }
};

struct echo_reply {
    std::uint16_t sequence = 0;
    bytes data;
};

std::optional<echo_reply> as_echo_reply(const bytes& f, std::uint16_t id) {
    auto eth = ethernet::parse(f);
    if (!eth || eth->ethertype != ethernet::ethertype::ipv4 || eth->destination != coronet_mac)
        return std::nullopt;
    auto ip = ipv4::parse(std::span(f).subspan(ethernet::header_length));
    if (!ip || ip->protocol != ipv4::protocol::icmp || ip->source != kernel_ip) return std::nullopt;
    auto payload =
        std::span(f).subspan(ethernet::header_length + ipv4::min_header_length, ip->payload_length);
    auto m = icmp::parse(payload);
    if (!m || m->type != icmp::message::echo_reply || m->identifier != id) return std::nullopt;
    return echo_reply{m->sequence, bytes(m->data.begin(), m->data.end())};
}

// A frame the kernel drops quietly (a local experimental ethertype).
bytes filler_frame() {
    return ethernet_frame(coronet_mac, kernel_mac, ethernet::ethertype{0x88b5}, bytes(46));
}

} // namespace

TEST_CASE("an ARP reply from coronet teaches the kernel coronet's MAC", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w;
    w.kernel_address();
    kernel_pings_coronet ping;
    arp_responder respond;
    REQUIRE(w.pump_until([&] {
        respond(w);
        return respond.answered > 0;
    }));
    bool learned = false;
    for (int i = 0; i < 50 && !learned; ++i) {
        w.pump_until([] { return false; }, std::chrono::milliseconds(50));
        learned = kernel_knows_coronet(w.name());
    }
    CHECK(learned);
    CHECK(w.counter("tx_frames") >= 1);
    CHECK(w.counter("tx_errors") == 0);
    CHECK(w.counter("tx_short_writes") == 0);
    CHECK(w.counter("tx_offload_frames") == 0);
    CHECK(w.pump_until([&] { return w.nic->tx_in_flight() == 0; }));
    // The frame went back to its pool when its write completed (the transmit interrupt).
    CHECK(w.tx_pool.in_use() == 0);
}

TEST_CASE("the kernel answers an ICMP echo request that coronet writes in two slices",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w;
    w.kernel_address();
    bytes data(56);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = std::byte(i);
    auto frame = ethernet_frame(coronet_mac, kernel_mac, ethernet::ethertype::ipv4,
                                ipv4_packet(ipv4::protocol::icmp, icmp_echo(0x1234, 7, data)));
    // Headers in one buffer, the ICMP message in another: two iovecs after the virtio header.
    auto p = packet_of(w.tx_pool, frame, ethernet::header_length + ipv4::min_header_length);
    REQUIRE(p.slice_count() == 2);
    REQUIRE(w.nic->transmit(std::move(p)));

    arp_responder respond; // the kernel asks who 10.0.0.2 is before it replies
    std::optional<echo_reply> reply;
    REQUIRE(w.pump_until([&] {
        respond(w);
        for (auto& f : w.catcher.frames)
            if (!reply) reply = as_echo_reply(contents(f), 0x1234);
        return reply.has_value();
    }));
    CHECK(reply->sequence == 7);
    CHECK(reply->data == data);
    CHECK(w.counter("tx_errors") == 0);
    CHECK(w.counter("rx_errors") == 0);
}

TEST_CASE(
    "writes in flight are bounded: ENOBUFS when every slot is busy, tx_ready when one completes",
    "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.tx_slots = 2;
    tap_world w(o);
    // A writer as the stack would be one: refused, it waits for room and sends again.
    std::vector<int> results;
    bool woken = false;
    task_scope scope;
    scope.spawn([&]() -> task<void> {
        // The writes reach the kernel only at the loop's next io_uring_enter: a batch.
        for (int i = 0; i < 3; ++i)
            results.push_back(w.nic->transmit(packet_of(w.tx_pool, filler_frame())).error());
        auto r = co_await w.nic->tx_ready().wait();
        woken = r.has_value();
        results.push_back(w.nic->transmit(packet_of(w.tx_pool, filler_frame())).error());
    });
    REQUIRE(w.pump_until([&] { return woken; }));
    CHECK(results == std::vector<int>{0, 0, ENOBUFS, 0});
    CHECK(w.counter("tx_dropped_queue_full") == 1);
    w.sched.run(scope.join());
    CHECK(w.pump_until([&] { return w.nic->tx_in_flight() == 0; }));
    CHECK(w.counter("tx_frames") == 4); // the NIC counts the refused one too, and its drop
    CHECK(w.counter("tx_errors") == 0);
}

TEST_CASE("a frame with more slices than an iovec array holds is refused with EMSGSIZE",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.tx_max_slices = 1;
    tap_world w(o);
    CHECK(w.nic->features().max_tx_slices == 1); // advertised: the stack copies beyond it
    auto r = w.nic->transmit(packet_of(w.tx_pool, filler_frame(), 20));
    CHECK(r.error() == EMSGSIZE);
    CHECK(w.counter("tx_dropped_too_many_slices") == 1);
    CHECK(w.counter("tx_errors") == 0); // refused by the NIC's advertised limit, before the ring
    CHECK(w.tx_pool.in_use() == 0);
}

TEST_CASE("after shutdown transmit refuses with ENETDOWN and the NIC lets go of the kernel",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w;
    w.nic->shutdown();
    CHECK(w.nic->transmit(packet_of(w.tx_pool, filler_frame())).error() == ENETDOWN);
    CHECK(w.pump_until([&] { return w.nic->stopped(); }));
    CHECK_FALSE(w.reactor.active());
}
