#pragma once
// What the fragmentation tests share: host A (10.0.0.1/24) that knows B (10.0.0.2) from an
// ARP request, frames of a datagram cut into fragments from any source, and a UDP socket
// on port 9 that takes what arrives.
#include "tests/protocols/stack_fixture.hpp"

namespace coronet::fragment_test {

using namespace coronet::testing;

inline const mac_address mac_a{0x02, 0, 0, 0, 0, 0x01};
inline const mac_address mac_b{0x02, 0, 0, 0, 0, 0x02};
inline const ipv4_address ip_a{10, 0, 0, 1};
inline const ipv4_address ip_b{10, 0, 0, 2};

inline bytes pattern(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>(i * 7 + i / 251);
    return b;
}

struct fixture {
    world w;
    host a;
    explicit fixture(native::options o = {}) : a(w, "eth0", mac_a, {ip_a, 24}, o) {
        a.card.inject(ethernet_frame(mac_b, mac_broadcast, ethernet::ethertype::arp,
                                     arp_packet({arp::operation::request, mac_b, ip_b, {}, ip_a})),
                      w.pool);
        w.settle();
        a.card.sent.clear();
    }
    void inject(const bytes& frame) { a.card.inject(frame, w.pool); }
};

// The frames of `payload` (an IP payload) from `source` to A, cut into `chunk`-byte
// fragments (a multiple of 8), all with identification `id`.
inline std::vector<bytes> fragments(ipv4_address source, const bytes& payload, std::size_t chunk,
                                    std::uint16_t id) {
    std::vector<bytes> frames;
    for (std::size_t at = 0; at < payload.size(); at += chunk) {
        const std::size_t n = std::min(chunk, payload.size() - at);
        auto h = ip_header(source, ip_a, ipv4::protocol::udp, id);
        h.fragment_offset = static_cast<std::uint16_t>(at / 8);
        h.more_fragments = at + n < payload.size();
        frames.push_back(
            ethernet_frame(mac_b, mac_a, ethernet::ethertype::ipv4,
                           ip_datagram(h, bytes(payload.begin() + at, payload.begin() + at + n))));
    }
    return frames;
}

inline std::vector<bytes> fragments_from_b(const bytes& payload, std::size_t chunk,
                                           std::uint16_t id) {
    return fragments(ip_b, payload, chunk, id);
}

// A bound socket and the one datagram it should get.
struct receiver {
    ref<socket_object> keep;
    udp::socket* s;
    explicit receiver(host& h) : keep(h.stack.socket(socket_type::datagram).value()) {
        s = &static_cast<udp::socket&>(*keep);
        s->bind({ipv4_any, 9}).value();
    }
    bytes take() {
        bytes out(70000);
        auto r = s->try_receive(out);
        if (!r) return {};
        out.resize(r->size);
        return out;
    }
};

} // namespace coronet::fragment_test
