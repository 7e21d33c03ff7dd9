// Frames whose flow hash has no ports, on a multi-queue TAP device: tun's symmetric flow
// hash (addresses, protocol and ports, as the flow dissector finds them) makes every ARP
// frame one flow, and every IPv4 fragment of one address pair one flow, whatever its ports.
// Such a flow follows whichever queue last transmitted one of its own frames, not the queue
// of the datagram's ports.
#include "tests/drivers/tap/mq_world.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace coronet;
using namespace coronet::test;

namespace {

bool is_fragment(const packet& frame) {
    bytes f = contents(frame);
    auto ip = ipv4::view::check(std::span<const std::byte>(f).subspan(ethernet::header_length));
    return ip && ip->protocol() == ipv4::protocol::udp &&
           (ip->more_fragments() || ip->fragment_offset() != 0);
}

// Waits for `n` frames that `pick` accepts, then 100 ms for more; the queue of each.
template <class Pick>
std::vector<unsigned> wait_frames(mq_world& w, std::size_t n, Pick pick) {
    std::vector<unsigned> got;
    auto gather = [&] {
        for (unsigned q = 0; q < w.queues.size(); ++q) {
            for (auto& f : w.queues[q]->catcher.frames)
                if (pick(f)) got.push_back(q);
            w.queues[q]->catcher.frames.clear();
        }
    };
    w.pump_until([&] { return gather(), got.size() >= n; });
    w.pump_until([&] { return gather(), false; }, std::chrono::milliseconds(100));
    return got;
}

// Makes the kernel ARP for 10.0.0.`first` .. 10.0.0.`first + n - 1` (addresses nobody has).
void kernel_asks_for(std::uint8_t first, std::uint8_t n) {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    for (std::uint8_t i = 0; i < n; ++i) {
        auto to = inet(ipv4_address{10, 0, 0, static_cast<std::uint8_t>(first + i)}, 9);
        CHECK(::sendto(s, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 1);
    }
    ::close(s);
}

std::set<unsigned> distinct(const std::vector<unsigned>& v) { return {v.begin(), v.end()}; }

} // namespace

TEST_CASE("every ARP frame from the kernel goes to one queue: the last that sent ARP",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    unsigned n = GENERATE(2u, 4u);
    mq_world w(n);
    auto arp = [](const packet& f) { return as_arp(contents(f)).has_value(); };
    kernel_asks_for(3, 8);
    auto before = wait_frames(w, 8, arp);
    REQUIRE(before.size() >= 8);
    CHECK(distinct(before).size() == 1);

    unsigned k = (before[0] + 1) % n;
    w.send(k, arp_frame(arp::operation::request, mac_broadcast, mac_address{}, kernel_ip));
    auto reply = wait_frames(w, 1, arp); // the kernel's answer, sent as the request comes in
    CHECK(reply == std::vector<unsigned>{before[0]});
    kernel_asks_for(11, 8);
    auto after = wait_frames(w, 8, arp);
    REQUIRE(after.size() >= 8);
    CHECK(distinct(after) == std::set<unsigned>{k});
}

TEST_CASE("IPv4 fragments keep to their address pair's queue, not their flow's",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    unsigned n = GENERATE(2u, 4u);
    mq_world w(n);
    const std::string large(3000, 'x'); // three fragments at MTU 1500
    std::vector<std::unique_ptr<udp_flow>> flows;
    std::set<unsigned> fragment_queues;
    std::size_t followed = 0;
    for (std::uint16_t i = 0; i < 8; ++i) {
        auto& f =
            *flows.emplace_back(std::make_unique<udp_flow>(static_cast<std::uint16_t>(23000 + i)));
        f.send(large);
        auto frags = wait_frames(w, 3, is_fragment);
        REQUIRE(frags.size() == 3);
        for (auto q : frags)
            fragment_queues.insert(q);
        // coronet answers the flow from another queue: its whole datagrams follow, its
        // fragments do not.
        unsigned k = (frags[0] + 1) % n;
        w.send(k, udp_from_coronet(f.port(), "answer"));
        REQUIRE(w.pump_until([&] { return f.receive().has_value(); }));
        f.send("small");
        auto whole = w.wait_udp(1);
        REQUIRE(whole.size() == 1);
        if (whole[0].first == k) ++followed;
        f.send(large);
        auto again = wait_frames(w, 3, is_fragment);
        CHECK(again == frags);
    }
    CAPTURE(n);
    CHECK(fragment_queues.size() == 1);
    CHECK(followed == 8);
}
