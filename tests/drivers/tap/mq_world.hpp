#pragma once
// One multi-queue TAP device ("cmq0") in the test's own network namespace, with `n` queues,
// each its own tap_nic (nic names "cmq0", "cmq0_q1", ...) and receiver, all on one scheduler
// and reactor; the kernel's end is 10.0.0.1 and knows 10.0.0.2 at coronet_mac without ARP.
// Kernel UDP sockets on 10.0.0.1 (udp_flow) are one end of each flow; udp_from_coronet
// builds coronet's datagrams of a flow.
#include "tests/integration/tap_world.hpp"

#include <memory>
#include <optional>
#include <sys/socket.h>

namespace coronet::test {

inline constexpr std::uint16_t coronet_udp_port = 9000;

// The ports of a UDP datagram or TCP segment to coronet in a frame from the kernel (both
// headers start with the two ports), if it is one of protocol `p` and not a fragment.
struct l4_ports {
    std::uint16_t source = 0;
    std::uint16_t destination = 0;
};

inline std::optional<l4_ports> as_l4(const packet& frame, ipv4::protocol p = ipv4::protocol::udp) {
    bytes f = contents(frame);
    auto eth = ethernet::parse(f);
    if (!eth || eth->ethertype != ethernet::ethertype::ipv4) return std::nullopt;
    auto ip = ipv4::view::check(std::span<const std::byte>(f).subspan(ethernet::header_length));
    if (!ip || ip->protocol() != p || ip->destination() != coronet_ip) return std::nullopt;
    if (ip->more_fragments() || ip->fragment_offset() != 0) return std::nullopt;
    auto l4 = ip->payload();
    if (l4.size() < 4) return std::nullopt;
    return l4_ports{load_be16(l4), load_be16(l4.subspan(2))};
}

// A datagram of coronet's end of a flow: 10.0.0.2:9000 to 10.0.0.1:`kernel_port`.
inline bytes udp_from_coronet(std::uint16_t kernel_port, const std::string& text) {
    bytes d(udp::header_length + text.size());
    std::memcpy(d.data() + udp::header_length, text.data(), text.size());
    udp::emit({.source_port = coronet_udp_port,
               .destination_port = kernel_port,
               .payload_length = static_cast<std::uint16_t>(text.size())},
              d, {coronet_ip, kernel_ip});
    return ethernet_frame(coronet_mac, kernel_mac, ethernet::ethertype::ipv4,
                          ipv4_packet(ipv4::protocol::udp, d));
}

struct mq_world {
    struct queue {
        explicit queue(buffer_pool_options o) : rx_pool(o) {}
        buffer_pool rx_pool;
        frame_catcher catcher;
        ref<tap_nic> nic;
    };

    explicit mq_world(unsigned n, tap_options o = test_options()) {
        o.name = "cmq0";
        o.multi_queue = true;
        for (unsigned i = 0; i < n; ++i) {
            auto& q = *queues.emplace_back(std::make_unique<queue>(
                buffer_pool_options{.buffer_size = 2048, .buffer_count = 256}));
            if (i > 0) {
                o.mode = tap_open_mode::attach_queue;
                o.nic_name = "cmq0_q" + std::to_string(i);
            }
            q.nic = make_object<tap_nic>(reactor, counters, q.rx_pool, o);
            q.nic->attach(&q.catcher);
        }
        REQUIRE(run({"ip", "addr", "add", "10.0.0.1/24", "dev", "cmq0"}).status == 0);
        // A static neighbour: the kernel sends to coronet without ARP (whose frames the
        // tests would otherwise have to answer on some queue).
        REQUIRE(run({"ip", "neigh", "replace", "10.0.0.2", "lladdr", "02:c0:7e:00:00:02", "dev",
                     "cmq0", "nud", "permanent"})
                    .status == 0);
    }
    ~mq_world() {
        for (auto& q : queues) {
            q->catcher.frames.clear();
            if (q->nic) q->nic->shutdown();
        }
        pump_until([&] {
            return std::all_of(queues.begin(), queues.end(),
                               [](const auto& q) { return !q->nic || q->nic->stopped(); });
        });
    }

    template <class Pred>
    bool pump_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        return test::pump_until(sched, reactor, pred, limit);
    }

    std::uint64_t counter(unsigned q, const std::string& c) const {
        return counters.read(queues[q]->nic->name() + "." + c).value();
    }
    void send(unsigned q, const bytes& frame) {
        REQUIRE(queues[q]->nic->transmit(packet_of(tx_pool, frame)));
        REQUIRE(pump_until([&] { return queues[q]->nic->tx_in_flight() == 0; }));
    }
    // Every UDP datagram (or TCP segment) to coronet that a queue received: the queue and
    // the ports, the kernel's port the source.
    using arrivals = std::vector<std::pair<unsigned, l4_ports>>;
    // Takes (and so releases) what the queues hold.
    arrivals take_udp(ipv4::protocol p = ipv4::protocol::udp) {
        arrivals got;
        for (unsigned i = 0; i < queues.size(); ++i) {
            for (auto& f : queues[i]->catcher.frames)
                if (auto u = as_l4(f, p)) got.emplace_back(i, *u);
            queues[i]->catcher.frames.clear();
        }
        return got;
    }
    // Waits for `n` arrivals, then `tail` more for any beyond (a duplicate or a stray would
    // show in the count; with no tail, in the next wait's).
    arrivals wait_udp(std::size_t n, ipv4::protocol p = ipv4::protocol::udp,
                      std::chrono::milliseconds tail = std::chrono::milliseconds(100)) {
        arrivals got;
        auto gather = [&] {
            auto more = take_udp(p);
            got.insert(got.end(), more.begin(), more.end());
        };
        pump_until([&] { return gather(), got.size() >= n; });
        if (tail.count() > 0) pump_until([&] { return gather(), false; }, tail);
        return got;
    }

    scheduler sched;
    uring::uring_reactor reactor{sched};
    counter_registry counters;
    buffer_pool tx_pool{{.buffer_size = 2048, .buffer_count = 64}};
    std::vector<std::unique_ptr<queue>> queues;
};

} // namespace coronet::test
