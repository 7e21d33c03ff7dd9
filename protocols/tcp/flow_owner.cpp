#include "protocols/tcp/flow_owner.hpp"

#include <array>

namespace coronet::tcp {

namespace {
void put(std::byte* out, const endpoint& e) noexcept {
    const std::uint32_t a = e.address.to_uint();
    const std::uint16_t p = e.port.value();
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<std::byte>(a >> (24 - 8 * i));
    out[4] = static_cast<std::byte>(p >> 8);
    out[5] = static_cast<std::byte>(p);
}
} // namespace

unsigned flow_owner::of(const endpoint& a, const endpoint& b) const noexcept {
    if (count <= 1) return 0;
    const bool in_order = a <= b;
    std::array<std::byte, 12> t;
    put(t.data(), in_order ? a : b);
    put(t.data() + 6, in_order ? b : a);
    return static_cast<unsigned>(siphash24(key, t) % count);
}

} // namespace coronet::tcp
