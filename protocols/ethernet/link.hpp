#pragma once
// The Ethernet layer's two decisions: which received frames are ours (input), and the header
// in front of an outgoing packet (output). The interface that owns a NIC calls both; they
// know nothing of ARP or IP beyond the ethertype.
#include "framework/buffer/packet.hpp"
#include "framework/net/address.hpp"
#include "protocols/ethernet/counters.hpp"
#include "protocols/ethernet/wire.hpp"

#include <algorithm>
#include <vector>

namespace coronet::ethernet {

// The destinations one interface accepts: its own MAC, broadcast, and the groups it joined.
class address_filter {
public:
    explicit address_filter(mac_address own) noexcept : own_(own) {}
    mac_address own() const noexcept { return own_; }
    void join(mac_address group) {
        if (!joined(group)) groups_.push_back(group);
    }
    void leave(mac_address group) { std::erase(groups_, group); }
    bool joined(mac_address group) const noexcept {
        return std::find(groups_.begin(), groups_.end(), group) != groups_.end();
    }
    bool accepts(mac_address destination) const noexcept {
        if (destination == own_) return true;
        if (destination.is_broadcast()) return true;
        return destination.is_multicast() && joined(destination);
    }

private:
    mac_address own_;
    std::vector<mac_address> groups_; // a handful at most: a scan beats a hash
};

enum class input_decision : std::uint8_t { arp, ipv4, truncated, not_for_us, unknown_type };

// Classifies a received frame and, for ARP and IPv4, pulls the 14-byte header so that the
// packet starts at the payload. Drops are counted here; the caller only discards.
input_decision input(packet& frame, const address_filter& filter, counters& stats) noexcept;

// Pushes the header of a frame from `source` to `destination` carrying `type` in front of
// `payload` (into its headroom when it has some). ENOBUFS when no buffer is left.
result<> output(packet& payload, mac_address source, mac_address destination, ethertype type);

std::string_view name(input_decision d) noexcept;

} // namespace coronet::ethernet
