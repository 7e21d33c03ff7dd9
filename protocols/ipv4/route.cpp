#include "protocols/ipv4/route.hpp"

#include <algorithm>

namespace coronet::ipv4 {

namespace {
bool same_prefix(ipv4_prefix a, ipv4_prefix b) noexcept {
    return a.length() == b.length() && a.network() == b.network();
}
} // namespace

void routing_table::add(const route& r) {
    const route normal{ipv4_prefix(r.destination.network(), r.destination.length()), r.gateway,
                       r.interface};
    remove(normal.destination);
    auto at = std::find_if(routes_.begin(), routes_.end(), [&](const route& x) {
        return x.destination.length() < normal.destination.length();
    });
    routes_.insert(at, normal);
}

bool routing_table::remove(ipv4_prefix destination) {
    return std::erase_if(routes_, [&](const route& x) {
               return same_prefix(x.destination, destination);
           }) != 0;
}

} // namespace coronet::ipv4
