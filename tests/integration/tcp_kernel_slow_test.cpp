// The 256 MiB transfers of issue 5 (run in release by `scripts/test --slow`): bulk TCP both
// ways at once between coronet's native stack on a TAP device and kernel sockets, byte-exact,
// offloads on and off and with 1 % loss injected in front of the TAP. The same with 16 MiB
// is in tcp_kernel_test.cpp, in the normal suite.
#include "tests/integration/bulk_transfer.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::test;

TEST_CASE("256 MiB each way with kernel sockets, byte-exact: offloads on and off, 1 % loss") {
    CORONET_ENTER_NETNS();
    constexpr std::uint64_t n = 256ull << 20;
    SECTION("offloads on") { check_bulk(bulk_both_ways(test_stack(true), n), n); }
    SECTION("offloads off") { check_bulk(bulk_both_ways(test_stack(false), n), n); }
    SECTION("1 % loss injected in front of the TAP, offloads on") {
        auto opts = test_stack(true);
        opts.faults.loss = 0.01;
        auto o = bulk_both_ways(opts, n);
        check_bulk(o, n);
        check_loss_recovered(o);
    }
}
