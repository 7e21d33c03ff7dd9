#pragma once
// script_nic: the simulated NIC between coronet's native stack and a packetdrill script.
// The script speaks IP datagrams; the stack speaks Ethernet. Inbound datagrams get an
// Ethernet header (from the script's MAC to ours) and enter through the NIC's DPC, as a
// frame off a wire would; outbound frames lose theirs and wait, stamped with the virtual
// time they left, until the script sniffs them.
//
// The script never sees ARP: the NIC answers every request for an address other than ours
// with the script's MAC (the far end of the link is the script, whatever address it uses),
// and absorbs the gratuitous announcement. Frames of any other type are dropped and
// counted, as are oversized or truncated datagrams from the script.
#include "drivers/nic.hpp"
#include "framework/buffer/buffer_pool.hpp"
#include "protocols/arp/wire.hpp"
#include "protocols/ethernet/wire.hpp"

#include <cstddef>
#include <deque>
#include <vector>

namespace coronet::packetdrill {

inline const mac_address script_mac{0x02, 0, 0, 0, 0, 0xd1};

struct datagram {
    std::vector<std::byte> bytes; // IP header on
    time_point left{};
};

class script_nic final : public nic {
public:
    script_nic(scheduler& s, counter_registry& r, buffer_pool& pool, nic_config c)
        : nic(s, r, std::move(c)), pool_(pool), stats_(r) {}
    ~script_nic() override = default;

    // A datagram from the script. It may exceed the MTU: a receiver takes what arrives, and
    // scripts send 2000-byte segments to a 1500-byte link as Linux's GRO would hand them
    // up. EMSGSIZE above an IPv4 datagram's 65535 bytes, EINVAL below an IPv4 header,
    // EAFNOSUPPORT for anything but IPv4, ENOBUFS when the pool is empty.
    result<> inject(std::span<const std::byte> ip) {
        if (ip.size() < 20) return error{EINVAL};
        if ((std::to_integer<unsigned>(ip[0]) >> 4) != 4) return error{EAFNOSUPPORT};
        if (ip.size() > 65535) return error{EMSGSIZE};
        std::vector<std::byte> frame(ethernet_header_bytes + ip.size());
        ethernet::emit(
            {.source = script_mac, .destination = mac(), .ethertype = ethernet::ethertype::ipv4},
            frame);
        std::copy(ip.begin(), ip.end(), frame.begin() + ethernet_header_bytes);
        return push_frame(frame);
    }

    std::deque<datagram> sent;

    struct counters {
        explicit counters(counter_registry& r) : group(r, "script_nic") {}
        counter_group group;
        counter& arp_answered = group.declare("arp_answered");
        counter& arp_absorbed = group.declare("arp_absorbed");
        counter& tx_dropped_not_ipv4 = group.declare("tx_dropped_not_ipv4");
    };
    counters& script_stats() noexcept { return stats_; }

protected:
    result<> driver_transmit(packet&& frame) override {
        std::vector<std::byte> bytes(frame.length());
        (void)frame.copy_out(0, bytes);
        auto eth = ethernet::parse(std::span<const std::byte>(bytes));
        if (!eth) {
            ++stats_.tx_dropped_not_ipv4;
            return {};
        }
        const auto payload = std::span<const std::byte>(bytes).subspan(ethernet_header_bytes);
        if (eth->ethertype == ethernet::ethertype::arp) {
            answer_arp(payload);
            return {};
        }
        if (eth->ethertype != ethernet::ethertype::ipv4) {
            ++stats_.tx_dropped_not_ipv4;
            return {};
        }
        sent.push_back({{payload.begin(), payload.end()}, sched().now()});
        return {};
    }
    bool driver_poll(unsigned budget) override {
        while (budget-- > 0 && !inbox_.empty()) {
            deliver(std::move(inbox_.front()));
            inbox_.pop_front();
        }
        return !inbox_.empty();
    }

private:
    void answer_arp(std::span<const std::byte> bytes) {
        auto r = arp::parse(bytes);
        if (!r || r->operation != arp::operation::request || r->target_ip == r->sender_ip) {
            ++stats_.arp_absorbed; // an announcement, or nothing we answer
            return;
        }
        ++stats_.arp_answered;
        const arp::repr reply{arp::operation::reply, script_mac, r->target_ip, r->sender_mac,
                              r->sender_ip};
        std::vector<std::byte> frame(ethernet_header_bytes + arp::repr::buffer_len());
        ethernet::emit({.source = script_mac,
                        .destination = r->sender_mac,
                        .ethertype = ethernet::ethertype::arp},
                       frame);
        arp::emit(reply, std::span(frame).subspan(ethernet_header_bytes));
        (void)push_frame(frame);
    }
    result<> push_frame(std::span<const std::byte> frame) {
        auto p = packet::allocate(pool_, 0);
        if (!p) return error{ENOBUFS};
        counter copied;
        if (auto a = p->append(frame, copied); !a) return error{ENOBUFS};
        inbox_.push_back(std::move(*p));
        raise_interrupt();
        return {};
    }

    buffer_pool& pool_;
    counters stats_;
    std::deque<packet> inbox_;
};

} // namespace coronet::packetdrill
