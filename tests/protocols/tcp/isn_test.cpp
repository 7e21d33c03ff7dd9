#include "protocols/tcp/isn.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace std::chrono_literals;
using coronet::endpoint;
using coronet::time_point;
using coronet::tcp::isn_generator;
using coronet::tcp::seq32;

namespace {
const endpoint local{{10, 0, 0, 1}, 80};
const endpoint remote{{10, 0, 0, 2}, 40000};
} // namespace

TEST_CASE("the 4-tuple is F's input in network byte order") {
    const auto b = coronet::tcp::tuple_bytes(local, remote);
    const std::array<std::byte, 12> expected{
        std::byte{10}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0},    std::byte{80},
        std::byte{10}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0x9c}, std::byte{0x40}};
    CHECK(b == expected);
}

TEST_CASE("ISN = M + F: M advances one per 4 microseconds (RFC 6528 §3)") {
    const isn_generator g(7);
    const time_point t{123456788us}; // on a tick
    const seq32 a = g.next(local, remote, t);
    CHECK(g.next(local, remote, t) == a); // a function of tuple, key and time only
    CHECK(g.next(local, remote, t + 3us) == a);
    CHECK(g.next(local, remote, t + 4us) - a == 1);
    CHECK(g.next(local, remote, t + 4ms) - a == 1000);
    CHECK(g.next(local, remote, t + 1s) - a == 250000);
}

TEST_CASE("F is keyed and per connection") {
    const isn_generator g(7);
    const isn_generator other_key(8);
    const time_point t{1s};
    const seq32 a = g.next(local, remote, t);
    CHECK(other_key.next(local, remote, t) != a);
    CHECK(g.next(local, endpoint{remote.address, 40001}, t) != a);
    CHECK(g.next(endpoint{local.address, 81}, remote, t) != a);
    CHECK(g.next(local, endpoint{{10, 0, 0, 3}, 40000}, t) != a);
    CHECK(g.next(remote, local, t) != a); // the tuple is ordered
    // Many ports, many different ISNs at one instant.
    std::set<std::uint32_t> seen;
    for (std::uint16_t p = 1000; p < 2000; ++p)
        seen.insert(g.next(local, endpoint{remote.address, p}, t).raw());
    CHECK(seen.size() == 1000);
}

TEST_CASE("the same seed gives the same ISNs (simulation determinism)") {
    CHECK(isn_generator(99).next(local, remote, time_point{5s}) ==
          isn_generator(99).next(local, remote, time_point{5s}));
}

TEST_CASE("M wraps modulo 2^32 (every 4.77 hours)") {
    const isn_generator g(1);
    const time_point before{4us * 0xffff'ffffll};
    CHECK(g.next(local, remote, before + 4us) - g.next(local, remote, before) == 1);
    CHECK(g.next(local, remote, before + 4us) > g.next(local, remote, before));
}
