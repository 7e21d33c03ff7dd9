// TCP header and options parser: the header length stays inside the segment, the payload is
// the rest; a header it accepts emits (options in Linux's layout, checksum computed) to a
// segment that parses, checksum verified, to the same fields and options.
#include "protocols/tcp/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <vector>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    const tcp::addresses ip{{10, 0, 0, 1}, {10, 0, 0, 2}};
    auto v = tcp::view::check(in);
    if (v) (void)tcp::read_options(v->options());
    auto r = tcp::parse(in, ip, {.verify_checksum = false});
    if (!r) return 0;
    FUZZ_CHECK(v.has_value());
    FUZZ_CHECK(v->header_length() <= size);
    FUZZ_CHECK(r->payload_length == size - v->header_length());
    FUZZ_CHECK(r->options.sack_count <= tcp::max_sack_blocks);
    if (r->options.length() > 40) return 0; // read, but more than one header can carry
    std::vector<std::byte> out(r->buffer_len());
    const auto payload = v->payload();
    std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(r->header_length()));
    FUZZ_CHECK(tcp::emit(*r, out, ip) == r->header_length());
    auto again = tcp::parse(std::span<const std::byte>(out), ip);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *r);
    return 0;
}
