// ARP parser: a packet it accepts (Ethernet/IPv4 ARP) emits back to the same 28 bytes.
#include "protocols/arp/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <array>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    auto r = arp::parse(in);
    if (!r) return 0;
    FUZZ_CHECK(size >= arp::packet_length);
    std::array<std::byte, arp::packet_length> out{};
    FUZZ_CHECK(arp::emit(*r, out) == arp::packet_length);
    FUZZ_CHECK(std::equal(out.begin(), out.end(), in.begin()));
    return 0;
}
