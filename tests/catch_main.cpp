// The one translation unit that holds Catch2's main; every test executable links it. A run
// in which a case skipped itself (tests/skip.hpp) and nothing failed exits with
// skip_exit_code, so CTest reports the test as skipped rather than passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/skip.hpp"

int main(int argc, char** argv) {
    const int failed = Catch::Session().run(argc, argv);
    if (failed == 0 && coronet::test::skipped_cases() > 0) return coronet::test::skip_exit_code;
    return failed;
}
