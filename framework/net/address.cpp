// Text forms of the address types: strict parsers (the text comes from command lines and
// configuration, so anything unusual is an error rather than a guess) and formatters.
#include "framework/net/address.hpp"

#include <charconv>
#include <ostream>
#include <stdexcept>

namespace coronet {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A decimal number of at most `max_digits` digits, no sign, no leading zero, at most `max`.
bool parse_decimal(std::string_view text, unsigned max, std::size_t max_digits, unsigned& out) {
    if (text.empty() || text.size() > max_digits) return false;
    if (text.size() > 1 && text[0] == '0') return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out <= max;
}

} // namespace

result<mac_address> mac_address::parse(std::string_view text) {
    // Six pairs of hex digits and five separators, all the same: 17 characters.
    if (text.size() != 17 || (text[2] != ':' && text[2] != '-')) return error{EINVAL};
    mac_address m;
    for (std::size_t i = 0; i < size; ++i) {
        int hi = hex_value(text[3 * i]);
        int lo = hex_value(text[3 * i + 1]);
        if (hi < 0 || lo < 0) return error{EINVAL};
        if (i + 1 < size && text[3 * i + 2] != text[2]) return error{EINVAL};
        m.octets_[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return m;
}

result<ipv4_address> ipv4_address::parse(std::string_view text) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        auto dot = text.find('.');
        if ((i < 3) == (dot == std::string_view::npos)) return error{EINVAL};
        unsigned octet = 0;
        if (!parse_decimal(text.substr(0, dot), 255, 3, octet)) return error{EINVAL};
        value = value << 8 | octet;
        text = i < 3 ? text.substr(dot + 1) : std::string_view{};
    }
    return ipv4_address{value};
}

void ipv4_prefix::throw_bad_length() {
    throw std::invalid_argument("coronet::ipv4_prefix: length above 32");
}

result<ipv4_prefix> ipv4_prefix::parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) return error{EINVAL};
    auto address = ipv4_address::parse(text.substr(0, slash));
    unsigned length = 0;
    if (!address || !parse_decimal(text.substr(slash + 1), max_length, 2, length))
        return error{EINVAL};
    return ipv4_prefix{*address, static_cast<std::uint8_t>(length)};
}

result<endpoint> endpoint::parse(std::string_view text) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return error{EINVAL};
    auto address = ipv4_address::parse(text.substr(0, colon));
    unsigned number = 0;
    if (!address || !parse_decimal(text.substr(colon + 1), 65535, 5, number)) return error{EINVAL};
    return endpoint{*address, static_cast<std::uint16_t>(number)};
}

std::string to_string(const mac_address& m) {
    std::string s;
    s.reserve(17);
    for (auto o : m.octets()) {
        if (!s.empty()) s += ':';
        s += hex_digits[o >> 4];
        s += hex_digits[o & 0xf];
    }
    return s;
}

std::string to_string(const ipv4_address& a) {
    auto o = a.octets();
    return std::to_string(o[0]) + '.' + std::to_string(o[1]) + '.' + std::to_string(o[2]) + '.' +
           std::to_string(o[3]);
}

std::string to_string(const ipv4_prefix& p) {
    return to_string(p.address()) + '/' + std::to_string(p.length());
}

std::string to_string(port p) { return std::to_string(p.value()); }

std::string to_string(const endpoint& e) { return to_string(e.address) + ':' + to_string(e.port); }

std::ostream& operator<<(std::ostream& os, const mac_address& m) { return os << to_string(m); }
std::ostream& operator<<(std::ostream& os, const ipv4_address& a) { return os << to_string(a); }
std::ostream& operator<<(std::ostream& os, const ipv4_prefix& p) { return os << to_string(p); }
std::ostream& operator<<(std::ostream& os, port p) { return os << p.value(); }
std::ostream& operator<<(std::ostream& os, const endpoint& e) { return os << to_string(e); }

} // namespace coronet
