// Which queue of a multi-queue TAP device the kernel hands a frame to (tun_select_queue in
// Linux drivers/net/tun.c): a flow the device has not seen goes by its symmetric flow hash;
// a flow a queue has transmitted goes to the queue that last transmitted it (the flow table
// tun_get_user fills). Kernel sockets are one end of each flow, frames written on a chosen
// queue the other; the tests count per queue and never assume a particular spread.
#include "protocols/tcp/wire.hpp"
#include "tests/drivers/tap/mq_world.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <sys/socket.h>

using namespace coronet;
using namespace coronet::test;

namespace {

constexpr std::chrono::milliseconds no_tail{0};

std::string per_queue(const std::vector<std::size_t>& n) {
    std::string s;
    for (auto c : n)
        s += std::to_string(c) + " ";
    return s;
}

// A SYN from 10.0.0.2:`port` to 10.0.0.1:`listener`, its checksum broken if `bad_checksum`.
bytes syn_from_coronet(std::uint16_t port, std::uint16_t listener, bool bad_checksum = false) {
    bytes segment(tcp::min_header_length);
    tcp::emit({.source_port = port,
               .destination_port = listener,
               .sequence = 1000,
               .flags = tcp::flag::syn,
               .window = 65535},
              segment, {coronet_ip, kernel_ip});
    if (bad_checksum) segment[tcp::field::checksum] ^= std::byte{0xff};
    return ethernet_frame(coronet_mac, kernel_mac, ethernet::ethertype::ipv4,
                          ipv4_packet(ipv4::protocol::tcp, segment));
}

// The queue on which the next TCP segment to 10.0.0.2:`port` arrives (the SYN-ACKs of
// other ports that the kernel resends meanwhile are passed over).
std::optional<unsigned> segment_to(mq_world& w, std::uint16_t port) {
    std::optional<unsigned> queue;
    w.pump_until([&] {
        for (auto& [q, ports] : w.take_udp(ipv4::protocol::tcp))
            if (ports.destination == port && !queue) queue = q;
        return queue.has_value();
    });
    return queue;
}

// A kernel TCP listener on 10.0.0.1:`port`.
struct kernel_listener {
    explicit kernel_listener(std::uint16_t port) : fd(kernel_socket(SOCK_STREAM, port)) {
        REQUIRE(::listen(fd, 128) == 0);
    }
    ~kernel_listener() { ::close(fd); }
    kernel_listener(const kernel_listener&) = delete;
    kernel_listener& operator=(const kernel_listener&) = delete;
    int fd;
};

} // namespace

TEST_CASE("flows the device has not seen spread over the queues by hash, none lost",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    unsigned n = GENERATE(2u, 4u);
    mq_world w(n);
    constexpr std::size_t flows = 64;
    std::vector<std::unique_ptr<udp_flow>> kernel;
    for (std::size_t i = 0; i < flows; ++i) {
        kernel.push_back(std::make_unique<udp_flow>(static_cast<std::uint16_t>(20000 + i)));
        kernel.back()->send("first");
    }
    auto got = w.wait_udp(flows);
    std::vector<std::size_t> on_queue(n);
    std::map<std::uint16_t, int> per_flow;
    for (auto [q, ports] : got) {
        ++on_queue[q];
        ++per_flow[ports.source];
    }
    CAPTURE(n, per_queue(on_queue));
    CHECK(got.size() == flows);
    CHECK(per_flow.size() == flows); // each flow's datagram once
    CHECK(std::count_if(on_queue.begin(), on_queue.end(), [](auto c) { return c > 0; }) > 1);
    std::uint64_t counted = 0;
    for (unsigned q = 0; q < n; ++q)
        counted += w.counter(q, "rx_frames");
    CHECK(counted >= flows); // the NICs counted them (and whatever else the kernel sent)
}

TEST_CASE("the kernel sends a flow's packets to the queue that last transmitted on it",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    unsigned n = GENERATE(2u, 4u);
    mq_world w(n);
    constexpr std::size_t flows = 16;
    std::vector<std::unique_ptr<udp_flow>> kernel;
    for (std::size_t i = 0; i < flows; ++i)
        kernel.push_back(std::make_unique<udp_flow>(static_cast<std::uint16_t>(21000 + i)));

    std::size_t followed = 0, against_hash = 0, tries = 0;
    for (auto& f : kernel) {
        f->send("unseen");
        auto first = w.wait_udp(1, ipv4::protocol::udp, no_tail);
        REQUIRE(first.size() == 1);
        unsigned hash_queue = first[0].first;
        // Every queue in turn transmits on the flow, the hash's own last, so that most
        // turns move the flow away from where the hash would put it.
        for (unsigned step = 1; step <= n; ++step) {
            unsigned k = (hash_queue + step) % n;
            w.send(k, udp_from_coronet(f->port(), "from " + std::to_string(k)));
            std::optional<std::string> reached;
            w.pump_until([&] { return (reached = f->receive()).has_value(); });
            CHECK(reached == "from " + std::to_string(k));
            f->send("after " + std::to_string(k));
            auto next = w.wait_udp(1, ipv4::protocol::udp, no_tail);
            REQUIRE(next.size() == 1);
            ++tries;
            if (next[0].first == k) ++followed;
            if (next[0].first == k && k != hash_queue) ++against_hash;
        }
    }
    CAPTURE(n, tries, followed, against_hash);
    CHECK(followed == tries);
    CHECK(against_hash == flows * (n - 1));
}

// tun_get_user hands a frame to the stack (netif_receive_skb, in the writer's own call)
// before it records the flow for the writing queue: what the kernel answers while it takes
// the frame (a SYN-ACK to a SYN) is steered as the flow stood before, by hash for a new flow.
// Whatever it sends later follows the writer.
TEST_CASE("the kernel's immediate answer is steered as the flow stood before the frame",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    unsigned n = GENERATE(2u, 4u);
    mq_world w(n);
    kernel_listener listener(8000);
    constexpr std::uint16_t opens = 16;
    std::size_t first_on_sender = 0, again_on_first_sender = 0, primed_on_sender = 0;
    for (std::uint16_t i = 0; i < opens; ++i) {
        unsigned k = i % n, other = (k + 1) % n;
        auto port = static_cast<std::uint16_t>(40000 + i);
        // A new flow: the SYN-ACK goes by hash, wherever the SYN came from.
        w.send(k, syn_from_coronet(port, 8000));
        auto first = segment_to(w, port);
        REQUIRE(first);
        if (*first == k) ++first_on_sender;
        // The SYN again, from another queue: the SYN-ACK resent at once goes to the queue
        // that sent the first SYN (the flow table's entry until this frame).
        w.send(other, syn_from_coronet(port, 8000));
        auto again = segment_to(w, port);
        REQUIRE(again);
        if (*again == k) ++again_on_first_sender;

        // Primed: a segment of the flow with a bad checksum, which the kernel drops without
        // an answer, makes the queue the flow's before its SYN.
        auto primed_port = static_cast<std::uint16_t>(41000 + i);
        w.send(k, syn_from_coronet(primed_port, 8000, true));
        w.send(k, syn_from_coronet(primed_port, 8000));
        auto primed = segment_to(w, primed_port);
        REQUIRE(primed);
        if (*primed == k) ++primed_on_sender;
    }
    CAPTURE(n, first_on_sender, again_on_first_sender, primed_on_sender);
    // By hash, 16 flows all landing on their sender's queue has odds of 2^-16 at most.
    CHECK(first_on_sender < opens);
    CHECK(again_on_first_sender == opens);
    CHECK(primed_on_sender == opens);
}
