#pragma once
// Initial sequence numbers per RFC 6528 §3:
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
// where M is a timer that ticks every 4 microseconds (read from the clock passed in) and F is
// a keyed PRF: SipHash-2-4 here, truncated to 32 bits. M keeps the ISNs of successive
// incarnations of one connection increasing (RFC 9293 §3.4.1); F makes them unguessable from
// outside, per connection (blind in-window attacks, RFC 6528 §1).
//
// The key comes from a seed: random_seed() for a real stack, a fixed value in a simulation so
// that the same seed gives the same trace.
#include <array>
#include <cstddef>
#include <cstdint>

#include "framework/clock.hpp"
#include "framework/net/address.hpp"
#include "framework/net/byte_order.hpp"
#include "protocols/tcp/seq.hpp"
#include "protocols/tcp/siphash.hpp"

namespace coronet::tcp {

// The 4-tuple as F's input: local address, local port, remote address, remote port, each in
// network byte order (12 bytes).
inline std::array<std::byte, 12> tuple_bytes(const endpoint& local, const endpoint& remote) {
    std::array<std::byte, 12> b{};
    local.address.write_to(std::span(b).subspan(0, 4));
    store_be16(std::span(b).subspan(4, 2), local.port.value());
    remote.address.write_to(std::span(b).subspan(6, 4));
    store_be16(std::span(b).subspan(10, 2), remote.port.value());
    return b;
}

class isn_generator {
public:
    static constexpr duration tick = std::chrono::microseconds(4); // M's resolution

    explicit isn_generator(std::uint64_t seed) noexcept : key_(siphash_key::derive(seed, domain)) {}

    seq32 next(const endpoint& local, const endpoint& remote, time_point now) const noexcept {
        const auto m = static_cast<std::uint32_t>(now.since_epoch / tick); // wraps: modular
        const auto t = tuple_bytes(local, remote);
        const auto f = static_cast<std::uint32_t>(siphash24(key_, t));
        return seq32(m) + f;
    }

private:
    static constexpr std::uint64_t domain = 0x69736e; // "isn"
    siphash_key key_;
};

} // namespace coronet::tcp
