#pragma once
// What every fuzz target uses: FUZZ_CHECK(cond) stops the run with the failed condition, so
// libFuzzer saves the input as a crash (an invariant broken, not only a sanitizer report).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);       \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

namespace coronet::fuzz {

inline std::span<const std::byte> bytes_of(const std::uint8_t* data, std::size_t size) noexcept {
    return {reinterpret_cast<const std::byte*>(data), size};
}

} // namespace coronet::fuzz
