// The UDP port table's open addressing against a std::map, through growth and deletions
// that shift entries back.
#include "protocols/udp/port_table.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>

using namespace coronet;

TEST_CASE("udp port table: finds what was added, forgets what was erased", "[udp]") {
    udp::port_table t;
    std::map<std::uint16_t, std::size_t> model;
    std::mt19937 rng(7);
    auto* tag = reinterpret_cast<udp::socket*>(std::uintptr_t{16});
    for (int step = 0; step < 20000; ++step) {
        // Ports from a narrow range collide often, which is what deletion must survive.
        const auto port = static_cast<std::uint16_t>(49152 + rng() % 300);
        if (rng() % 3 != 0) {
            t.get_or_add(port).push_back(tag);
            ++model[port];
        } else {
            t.erase(port);
            model.erase(port);
        }
        if (step % 97 == 0) {
            REQUIRE(t.size() == model.size());
            for (std::uint16_t p = 49152; p < 49152 + 300; ++p) {
                const auto* b = t.find(p);
                auto it = model.find(p);
                REQUIRE((b != nullptr) == (it != model.end()));
                if (b != nullptr) REQUIRE(b->size() == it->second);
            }
        }
    }
}
