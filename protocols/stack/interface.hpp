#pragma once
// One interface of the native stack: a NIC, its IPv4 address with prefix, the Ethernet
// address filter and the ARP cache. It is the NIC's receiver (frame_sink) and the ARP
// cache's link; everything else it hands to the stack.
#include "drivers/frame_sink.hpp"
#include "drivers/nic.hpp"
#include "framework/wake_relay.hpp"
#include "protocols/arp/cache.hpp"
#include "protocols/ethernet/link.hpp"
#include "protocols/ipv4/route.hpp"

namespace coronet::native {

class native_stack;

class interface final : public frame_sink, public arp::link {
public:
    interface(native_stack& stack, ipv4::interface_id id, nic& card, ipv4_prefix address);
    ~interface() override;
    interface(const interface&) = delete;
    interface& operator=(const interface&) = delete;

    // The receive input: every frame the NIC delivers.
    result<> push(packet&& frame) override;

    ipv4::interface_id id() const noexcept { return id_; }
    nic& card() const noexcept { return card_; }
    ipv4_prefix address() const noexcept { return address_; }
    ethernet::address_filter& filter() noexcept { return filter_; }
    arp::cache& arp() noexcept { return arp_; }
    // The NIC refused a frame for a full queue: TCP is told when its tx_ready() wakes.
    void wait_for_tx_room() { tx_room_.arm(); }
    // The directed broadcast of the subnet, when it has one (not on /31 and /32).
    bool is_broadcast(ipv4_address a) const noexcept {
        return a.is_broadcast() || (address_.length() < 31 && a == address_.broadcast());
    }

private:
    void send_arp(const arp::repr& packet, mac_address destination) override;
    void send_resolved(packet&& ip_packet, mac_address mac) override;
    void unreachable(const packet& ip_packet) override;

    native_stack& stack_;
    ipv4::interface_id id_;
    nic& card_;
    ipv4_prefix address_;
    ethernet::address_filter filter_;
    arp::cache arp_;
    wake_relay tx_room_;
    static void on_tx_room(void* self);
};

} // namespace coronet::native
