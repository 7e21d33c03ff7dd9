#pragma once
// Literal packets in tests: hex("4500 0054 ...") gives the bytes, blanks ignored.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::testing {

using bytes = std::vector<std::byte>;

inline bytes hex(std::string_view s) {
    bytes v;
    for (std::size_t i = 0; i + 1 < s.size();) {
        if (s[i] == ' ') {
            ++i;
            continue;
        }
        v.push_back(static_cast<std::byte>(std::stoul(std::string(s.substr(i, 2)), nullptr, 16)));
        i += 2;
    }
    return v;
}

} // namespace coronet::testing
