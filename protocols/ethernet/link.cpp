#include "protocols/ethernet/link.hpp"

namespace coronet::ethernet {

input_decision input(packet& frame, const address_filter& filter, counters& stats) noexcept {
    ++stats.in_frames;
    auto head = frame.front(header_length);
    if (!head) {
        // A chain whose first slice is shorter than a header is not a frame any NIC makes.
        ++stats.in_truncated;
        return input_decision::truncated;
    }
    const auto v = view::unchecked(*head);
    if (!filter.accepts(v.destination())) {
        ++stats.in_not_for_us;
        return input_decision::not_for_us;
    }
    input_decision d;
    switch (v.ethertype()) {
    case ethertype::ipv4:
        d = input_decision::ipv4;
        break;
    case ethertype::arp:
        d = input_decision::arp;
        break;
    default:
        ++stats.in_unknown_type;
        return input_decision::unknown_type;
    }
    (void)frame.pull_header(header_length); // cannot fail: front() found the bytes
    return d;
}

result<> output(packet& payload, mac_address source, mac_address destination, ethertype type) {
    auto h = payload.push_header(header_length);
    if (!h) return error{h.error()};
    emit(repr{source, destination, type}, *h);
    return {};
}

std::string_view name(input_decision d) noexcept {
    switch (d) {
    case input_decision::arp:
        return "arp";
    case input_decision::ipv4:
        return "ipv4";
    case input_decision::truncated:
        return "truncated";
    case input_decision::not_for_us:
        return "not for us";
    case input_decision::unknown_type:
        return "unknown ethertype";
    }
    return "unknown";
}

} // namespace coronet::ethernet
