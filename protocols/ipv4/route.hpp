#pragma once
// The routing table: destination prefix to (interface, gateway), longest prefix first.
//
// Why a sorted vector: a host or small router has a handful of routes, and a scan of a
// contiguous array sorted by prefix length (longest first) finds the longest match at its
// first hit, faster than any tree at that size and with no allocation per lookup.
#include "framework/net/address.hpp"

#include <cstddef>
#include <optional>
#include <vector>

namespace coronet::ipv4 {

using interface_id = std::size_t;

struct route {
    ipv4_prefix destination;
    ipv4_address gateway{}; // 0.0.0.0: on link, the destination is its own next hop
    interface_id interface = 0;
    friend bool operator==(const route&, const route&) = default;
};

struct next_hop {
    interface_id interface = 0;
    ipv4_address address{}; // the gateway, or the destination itself
};

class routing_table {
public:
    // A route for the same prefix replaces the old one.
    void add(const route& r);
    // False if there was none.
    bool remove(ipv4_prefix destination);
    // The longest prefix that contains `destination`; nullopt: no route (ENETUNREACH).
    std::optional<next_hop> lookup(ipv4_address destination) const noexcept {
        for (const auto& r : routes_)
            if (r.destination.contains(destination))
                return next_hop{r.interface, r.gateway.is_any() ? destination : r.gateway};
        return std::nullopt;
    }
    const std::vector<route>& routes() const noexcept { return routes_; }

private:
    std::vector<route> routes_; // longest prefix first
};

} // namespace coronet::ipv4
