// ICMP parser: a message it accepts emits to one that parses to the same fields (data by
// content); quote() of the bytes as an IP packet never reaches outside them.
#include "protocols/icmp/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <vector>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    const auto q = icmp::quote(in);
    FUZZ_CHECK(q.empty() || (q.data() >= in.data() && q.data() + q.size() <= in.data() + in.size()));
    auto r = icmp::parse(in, {.verify_checksum = false});
    if (!r) return 0;
    FUZZ_CHECK(r->buffer_len() <= size);
    std::vector<std::byte> out(r->buffer_len());
    FUZZ_CHECK(icmp::emit(*r, out) == r->buffer_len());
    auto again = icmp::parse(std::span<const std::byte>(out));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *r);
    return 0;
}
