// UDP parser: the payload stays inside the datagram, and the header emits (with the
// checksum computed) to a datagram that parses, checksum verified, to the same fields.
#include "protocols/udp/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <vector>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    const udp::addresses ip{{10, 0, 0, 1}, {10, 0, 0, 2}};
    auto r = udp::parse(in, ip, {.verify_checksum = false});
    if (!r) return 0;
    auto v = udp::view::check(in);
    FUZZ_CHECK(v.has_value());
    FUZZ_CHECK(r->buffer_len() <= size);
    const auto payload = v->payload();
    FUZZ_CHECK(payload.size() == r->payload_length);
    std::vector<std::byte> out(r->buffer_len());
    std::copy(payload.begin(), payload.end(), out.begin() + udp::header_length);
    FUZZ_CHECK(udp::emit(*r, out, ip) == udp::header_length);
    auto again = udp::parse(std::span<const std::byte>(out), ip);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *r);
    return 0;
}
