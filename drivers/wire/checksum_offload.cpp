#include "drivers/wire/checksum_offload.hpp"

#include <cstdint>

namespace coronet {

result<std::array<byte_patch, 2>> offload_checksum(const packet& frame) {
    const auto& off = frame.meta().offload;
    const std::size_t start = off.csum_start;
    const std::size_t field = start + off.csum_offset;
    if (field + 2 > frame.length()) return error{EINVAL};

    // Sum 16-bit big-endian words; a slice may end in the middle of a word.
    std::uint64_t sum = 0;
    std::size_t pos = 0;
    bool high = true; // the next byte of the range is the high byte of a word
    for (auto bytes : frame.slices()) {
        for (std::size_t i = pos < start ? start - pos : 0; i < bytes.size(); ++i) {
            const auto b = std::to_integer<std::uint64_t>(bytes[i]);
            sum += high ? b << 8U : b;
            high = !high;
        }
        pos += bytes.size();
    }
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16U);
    auto folded = static_cast<std::uint16_t>(~sum & 0xffff);
    if (folded == 0) folded = 0xffff;
    return std::array<byte_patch, 2>{byte_patch{field, std::byte(folded >> 8U)},
                                     byte_patch{field + 1, std::byte(folded & 0xffU)}};
}

} // namespace coronet
