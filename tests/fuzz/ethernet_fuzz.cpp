// Ethernet header parser: a frame it accepts emits back to the same 14 bytes.
#include "protocols/ethernet/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <array>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    auto r = ethernet::parse(in);
    if (!r) return 0;
    FUZZ_CHECK(size >= ethernet::header_length);
    std::array<std::byte, ethernet::header_length> out{};
    FUZZ_CHECK(ethernet::emit(*r, out) == ethernet::header_length);
    FUZZ_CHECK(std::equal(out.begin(), out.end(), in.begin()));
    return 0;
}
