#include "protocols/tcp/syn_cookie.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace std::chrono_literals;
using coronet::endpoint;
using coronet::time_point;
using coronet::tcp::seq32;
using coronet::tcp::syn_cookies;

namespace {
const endpoint local{{10, 0, 0, 1}, 80};
const endpoint remote{{10, 0, 0, 2}, 40000};
const seq32 peer_isn{0x12345678};
const time_point t0{1000 * 64s + 10s};
} // namespace

TEST_CASE("a cookie decodes to the MSS table entry chosen for the peer's MSS") {
    const syn_cookies c(5);
    struct {
        std::uint16_t offered, kept;
    } cases[] = {{1460, 1460}, {9000, 1460}, {1459, 1440}, {1440, 1440}, {1400, 1300},
                 {1300, 1300}, {1299, 536},  {536, 536},   {100, 536}};
    for (auto [offered, kept] : cases) {
        INFO("offered " << offered);
        const seq32 cookie = c.encode(local, remote, peer_isn, offered, t0);
        CHECK(c.decode(local, remote, peer_isn, cookie, t0) == kept);
    }
}

TEST_CASE("the coarse counter is now / 64 s, in the cookie's top byte") {
    CHECK(syn_cookies::counter(time_point{64s}) == 1);
    CHECK(syn_cookies::counter(time_point{127s}) == 1);
    const syn_cookies c(5);
    // Within a period the cookie is the same; the next period gives another one.
    const auto a = c.encode(local, remote, peer_isn, 1460, t0);
    CHECK(c.encode(local, remote, peer_isn, 1460, t0 + 50s) == a);
    CHECK(c.encode(local, remote, peer_isn, 1460, t0 + 54s) != a);
}

TEST_CASE("a cookie stays valid for max_age periods, then is stale") {
    const syn_cookies c(5);
    const auto cookie = c.encode(local, remote, peer_isn, 1460, t0);
    CHECK(c.decode(local, remote, peer_isn, cookie, t0 + 50s) == 1460); // same period
    CHECK(c.decode(local, remote, peer_isn, cookie, t0 + 64s) == 1460);
    CHECK(c.decode(local, remote, peer_isn, cookie, t0 + 128s) == 1460);    // 2 periods old
    CHECK_FALSE(c.decode(local, remote, peer_isn, cookie, t0 + 192s));      // 3: stale
    CHECK_FALSE(c.decode(local, remote, peer_isn, cookie, t0 + 256 * 64s)); // 256 later
    CHECK_FALSE(c.decode(local, remote, peer_isn, cookie, t0 - 64s));       // from the future
}

TEST_CASE("cookies work across the 8-bit counter wrap") {
    const syn_cookies c(5);
    const time_point at{255 * 64s}; // counter 255; two periods later it reads 1 (257)
    const auto cookie = c.encode(local, remote, peer_isn, 1300, at);
    CHECK(c.decode(local, remote, peer_isn, cookie, at + 128s) == 1300);
    CHECK_FALSE(c.decode(local, remote, peer_isn, cookie, at + 192s));
}

TEST_CASE("a cookie is bound to the tuple, the peer's ISN and the secret") {
    const syn_cookies c(5);
    const auto cookie = c.encode(local, remote, peer_isn, 1460, t0);
    CHECK_FALSE(c.decode(local, endpoint{remote.address, 40001}, peer_isn, cookie, t0));
    CHECK_FALSE(c.decode(local, endpoint{{10, 0, 0, 9}, 40000}, peer_isn, cookie, t0));
    CHECK_FALSE(c.decode(endpoint{local.address, 81}, remote, peer_isn, cookie, t0));
    CHECK_FALSE(c.decode(local, remote, peer_isn + 1, cookie, t0));
    CHECK_FALSE(syn_cookies(6).decode(local, remote, peer_isn, cookie, t0));
    CHECK_FALSE(c.decode(local, remote, peer_isn - 1, cookie, t0));
    for (std::uint32_t bit = 0; bit < 24; ++bit) { // any change to the MAC bits is caught
        INFO("bit " << bit);
        CHECK_FALSE(c.decode(local, remote, peer_isn, seq32{cookie.raw() ^ (1u << bit)}, t0));
    }
}

TEST_CASE("random cookies are rejected") {
    const syn_cookies c(5);
    std::mt19937 rng(1);
    auto random_seq = [&] { return seq32{static_cast<std::uint32_t>(rng())}; };
    int accepted = 0;
    for (int i = 0; i < 200000; ++i)
        if (c.decode(local, remote, random_seq(), random_seq(), t0)) ++accepted;
    CHECK(accepted == 0); // expected about 200000 * 3/256 * 4/2^24 = 0.0006
}
