// IPv4 header parser: the payload it gives lies inside the packet and has the length the
// header says; the header it read emits to one that parses (checksum verified) to the same
// fields.
#include "protocols/ipv4/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <vector>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    auto r = ipv4::parse(in, {.verify_checksum = false});
    if (!r) return 0;
    auto v = ipv4::view::check(in);
    FUZZ_CHECK(v.has_value());
    const auto payload = v->payload();
    FUZZ_CHECK(payload.data() >= in.data() && payload.data() + payload.size() <= in.data() + in.size());
    FUZZ_CHECK(payload.size() == r->payload_length);
    std::vector<std::byte> out(r->buffer_len());
    FUZZ_CHECK(ipv4::emit(*r, out) == ipv4::repr::header_length());
    std::copy(payload.begin(), payload.end(), out.begin() + ipv4::repr::header_length());
    auto again = ipv4::parse(std::span<const std::byte>(out));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *r);
    return 0;
}
