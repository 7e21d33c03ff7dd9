#pragma once
// native_stack: coronet's own Ethernet/ARP/IPv4/ICMP/UDP over one or more NICs, serving the
// socket calls of processes (network_stack), with TCP (protocols/tcp) for stream sockets.
//
// The receive path runs inside the NIC's DPC: interface::push -> Ethernet (filter, ethertype)
// -> ARP, or IPv4 (header checks, local or forward, reassembly) -> TCP, UDP (checksum, port
// lookup, socket queue) or ICMP. The send path: a socket call -> TCP or UDP header -> IPv4 output
// (route, identification, fragmentation) -> ARP resolution -> Ethernet header -> NIC.
// Everything is per core: no locks, no atomics.
//
// set_trace() makes each layer report one line per packet it handles (layer, direction,
// decision), e.g. "ipv4 rx 10.0.0.2 > 10.0.0.1 proto 17 len 48: local delivery".
#include "drivers/nic.hpp"
#include "framework/counters.hpp"
#include "framework/process/socket.hpp"
#include "framework/scheduler.hpp"
#include "protocols/arp/counters.hpp"
#include "protocols/ethernet/counters.hpp"
#include "protocols/icmp/counters.hpp"
#include "protocols/icmp/rate_limit.hpp"
#include "protocols/icmp/wire.hpp"
#include "protocols/ipv4/counters.hpp"
#include "protocols/ipv4/ident.hpp"
#include "protocols/ipv4/reassembly.hpp"
#include "protocols/ipv4/route.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/stack/interface.hpp"
#include "protocols/stack/options.hpp"
#include "protocols/stack/steering.hpp"
#include "protocols/tcp/layer.hpp"
#include "protocols/udp/layer.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace coronet::native {

using interface_id = ipv4::interface_id;

// What IPv4 output needs to know of a datagram besides its payload.
struct ip_send {
    ipv4_address source;
    ipv4_address destination;
    ipv4::protocol protocol = ipv4::protocol::udp;
    std::uint8_t ttl = 0; // 0: the stack's default
    bool dont_fragment = false;
};

class native_stack final : public network_stack, private udp::network, private tcp::network {
public:
    native_stack(scheduler& sched, counter_registry& registry, options opts = {});
    ~native_stack() override;
    native_stack(const native_stack&) = delete;
    native_stack& operator=(const native_stack&) = delete;

    // --- network_stack ---
    std::string_view name() const noexcept override { return "native"; }
    // datagram: a UDP socket; stream: a TCP socket.
    result<ref<socket_object>> socket(socket_type type) override;
    const wall_clock& wall() const noexcept override {
        return opts_.wall != nullptr ? *opts_.wall : network_stack::wall();
    }

    // --- configuration ---
    // Becomes the NIC's receiver, adds the on-link route of the prefix and announces the
    // address (gratuitous ARP). The NIC must outlive the stack.
    interface_id add_interface(nic& card, ipv4_prefix address_with_prefix);
    // A gateway of 0.0.0.0 makes the prefix on-link on that interface.
    void add_route(ipv4_prefix destination, ipv4_address gateway, interface_id via);
    // The default route through `gateway`, on the interface whose subnet holds it;
    // ENETUNREACH when none does.
    result<> set_default_gateway(ipv4_address gateway);
    // Forwarding between interfaces (a router); off by default: datagrams for others are
    // dropped and counted (ipv4.in_addr_errors).
    void set_forwarding(bool on) noexcept { forwarding_ = on; }
    bool forwarding() const noexcept { return forwarding_; }
    // One line per packet per layer, or nothing (an empty function).
    void set_trace(std::function<void(std::string_view)> sink) {
        tcp_.set_trace(sink);
        trace_ = std::move(sink);
    }

    // --- shards (steering.hpp) ---
    // Makes this stack shard `me` of `count` with the same address: TCP segments another
    // shard owns go to it through `fwd`, ARP to every other shard, and active opens pick
    // ports this shard owns. Every shard's stack must have the same seed (the owner key).
    // Count 1 (the default) turns it off. Shard counters: group "shard".
    void set_steering(unsigned me, unsigned count, forwarder fwd);
    const tcp::flow_owner& owner() const noexcept { return steering_.owner; }
    // A frame another shard forwarded: copied into this stack's pool and received on
    // interface `in` as if its NIC had delivered it (not forwarded again, an ARP request in
    // it not answered). Counted in shard.injected; no buffer: shard.inject_dropped_no_buffer.
    void inject(interface_id in, std::span<const std::byte> frame,
                const packet_offload& offload = {});
    // The shard counters; nullptr while steering is off.
    const steering_counters* steering_stats() const noexcept { return steering_stats_.get(); }

    // --- ICMP echo (ping) ---
    // Sends one echo request with `payload_bytes` of data and waits for its reply: the round
    // trip on the scheduler's clock. ETIMEDOUT, EHOSTUNREACH (ARP failed or an ICMP error
    // came back), ENETUNREACH (no route), EMSGSIZE (above 65507 bytes), ECANCELED.
    task<result<duration>> ping(ipv4_address destination, std::size_t payload_bytes = 56,
                                duration timeout = std::chrono::seconds(1));

    // --- IPv4 output, for transports ---
    // Sends `payload` (a transport header and data) in an IPv4 datagram: routes it,
    // fragments it if it exceeds the MTU and DF is clear (EMSGSIZE if set), resolves the
    // next hop. ENETUNREACH when there is no route.
    result<> output(packet&& payload, const ip_send& header);

    // --- inspection ---
    std::size_t interface_count() const noexcept { return interfaces_.size(); }
    interface& at(interface_id id) { return *interfaces_.at(id); }
    // The receive input of an interface (what its NIC delivers to).
    frame_sink& receiver(interface_id id) { return at(id); }
    const ipv4::routing_table& routes() const noexcept { return routes_; }
    ipv4::reassembler& reassembly() noexcept { return reassembly_; }
    udp::layer& udp() noexcept { return udp_; }
    tcp::layer& tcp() noexcept { return tcp_; }
    buffer_pool& pool() noexcept override { return *pool_; }
    memory_budget* memory() noexcept override { return &memory_; }
    scheduler& sched() noexcept { return sched_; }
    const options& opts() const noexcept { return opts_; }
    bool is_local(ipv4_address a) const noexcept override;

    struct all_counters {
        explicit all_counters(counter_registry& r)
            : ethernet(r), arp(r), ipv4(r), icmp(r), udp(r), tcp(r) {}
        ethernet::counters ethernet;
        arp::counters arp;
        ipv4::counters ipv4;
        icmp::counters icmp;
        udp::counters udp;
        tcp::counters tcp;
    };
    all_counters& stats() noexcept { return stats_; }

private:
    friend class interface;
    struct pending_ping;

    // receive.cpp
    void input(interface& in, packet&& frame);
    void arp_input(interface& in, const packet& p);
    void ipv4_input(interface& in, packet&& p);
    void local_delivery(interface& in, packet&& p, const ipv4::repr& h,
                        std::span<const std::byte> raw_header);
    void transport_input(interface& in, packet&& p, const ipv4::repr& h,
                         std::span<const std::byte> raw_header);
    // forward.cpp
    void forward(interface& in, packet&& p, const ipv4::repr& h,
                 std::span<const std::byte> raw_header);
    // steering.cpp: true when the segment went (or was meant to go) to its owner shard.
    bool steer_tcp(interface& in, const packet& segment, const ipv4::repr& h,
                   std::span<const std::byte> raw_header);
    void share_arp(interface& in, std::span<const std::byte> arp_packet, mac_address sender);
    // Copies the frame `link` + `header` + `body` into a message for shard `to`.
    bool send_to_shard(unsigned to, const ethernet::repr& link, std::span<const std::byte> header,
                       const packet* body, const packet_offload& offload);
    // send.cpp
    result<> link_output(interface& out, ipv4_address next_hop, packet&& ip_packet);
    result<> transmit(interface& out, packet&& payload, mac_address destination,
                      ethernet::ethertype type);
    // gather_limit.cpp: hands the frame to the NIC, copied into fewer buffers first when it
    // has more slices than the NIC takes.
    result<> transmit_within_gather_limit(interface& out, packet&& frame);
    result<> send_datagram(interface& out, ipv4_address next_hop, packet&& payload,
                           const ipv4::repr& h);
    result<ipv4_address> source_for(ipv4_address destination) override;
    result<> output(packet&& datagram, ipv4_address source, ipv4_address destination) override;
    // tcp::network
    result<tcp::path> route(ipv4_address destination) override;
    result<> send_segment(packet&& segment, ipv4_address source, ipv4_address destination) override;
    interface* local_interface(ipv4_address a) const noexcept;
    // icmp.cpp
    void icmp_input(interface& in, packet&& p, const ipv4::repr& h);
    void echo_reply(packet&& request, const ipv4::repr& h, std::span<const std::byte> header);
    void icmp_error_input(const icmp::repr& r, const ipv4::repr& h);
    // RFC 1122 §3.2.2's rules and the rate limit, then sends type/code quoting `quote`
    // (the offending datagram's header and first 8 data bytes) to its source from `from`.
    void send_icmp_error(icmp::message type, std::uint8_t code, std::span<const std::byte> quote,
                         ipv4_address from, std::uint16_t mtu = 0);
    void report_unreachable(const packet& ip_packet); // ARP gave up on it
    void finish_ping(std::uint16_t identifier, std::uint16_t sequence, int err);

    void trace(std::string_view layer, std::string_view direction, std::string_view what);
    bool tracing() const noexcept { return static_cast<bool>(trace_); }

    scheduler& sched_;
    counter_registry& registry_;
    options opts_;
    std::unique_ptr<buffer_pool> own_pool_;
    buffer_pool* pool_;
    all_counters stats_;
    memory_budget memory_;
    std::vector<std::unique_ptr<interface>> interfaces_;
    ipv4::routing_table routes_;
    ipv4::reassembler reassembly_;
    ipv4::ident_generator idents_;
    icmp::rate_limiter icmp_limit_;
    udp::layer udp_;
    tcp::layer tcp_;
    bool forwarding_ = false;
    steering steering_;
    std::unique_ptr<steering_counters> steering_stats_;
    bool injecting_ = false; // inside inject(): the frame came from another shard
    std::function<void(std::string_view)> trace_;
    std::uint16_t ping_identifier_;
    std::uint16_t ping_sequence_ = 0;
    std::unordered_map<std::uint32_t, pending_ping*> pings_;

    // Datagrams to one of our own addresses wait here and are delivered from a DPC, as
    // Linux's loopback device queues them: a nested call would re-enter a TCP sender with
    // its own ACKs in the middle of sending. Bounded like Linux's netdev_max_backlog.
    static constexpr std::size_t loopback_limit = 1000;
    struct loopback_dpc final : dpc {
        explicit loopback_dpc(native_stack* s) : dpc(&deliver), stack(s) {}
        static bool deliver(dpc* d, unsigned budget);
        native_stack* stack;
    };
    std::deque<std::pair<interface*, packet>> loopback_;
    loopback_dpc loopback_dpc_{this};
    // Back-pressure for TCP (tcp/network.hpp): whether the datagram being sent met a full
    // queue (a NIC's or the loopback's), and whether the loopback refused one since it last
    // had room (its DPC then tells TCP).
    bool queue_refused_ = false;
    bool loopback_refused_ = false;
};

} // namespace coronet::native
