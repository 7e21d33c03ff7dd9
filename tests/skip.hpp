#pragma once
// A test case that cannot run here (no root, no /dev/net/tun, a tool not installed, an old
// kernel) says so and returns; CORONET_SKIP counts it, and the test executable then exits
// with skip_exit_code, which tests/CMakeLists.txt gives CTest as SKIP_RETURN_CODE, so the run
// reports "Skipped" instead of a pass. Where CI must run the case (CI=true), the caller
// FAILs instead of skipping.
#include <catch2/catch.hpp>

namespace coronet::test {

inline constexpr int skip_exit_code = 77; // the automake convention CTest users know

inline int& skipped_cases() noexcept {
    static int n = 0;
    return n;
}

} // namespace coronet::test

#define CORONET_SKIP(why)                                                                          \
    do {                                                                                           \
        ++coronet::test::skipped_cases();                                                          \
        WARN("skipped: " << why);                                                                  \
        return;                                                                                    \
    } while (0)
