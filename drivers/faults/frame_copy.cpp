#include "drivers/faults/frame_copy.hpp"

#include <algorithm>
#include <array>

namespace coronet {

result<packet> copy_frame(const packet& src, buffer_pool& pool, std::uint32_t headroom,
                          counter& copied, std::span<const byte_patch> patches) {
    auto made = packet::allocate(pool, std::min(headroom, pool.buffer_size()));
    if (!made) return error{made.error()};
    packet out = std::move(*made);
    auto patch = patches.begin();
    std::size_t pos = 0; // offset of the current slice in the frame
    for (auto bytes : src.slices()) {
        std::size_t done = 0;
        while (patch != patches.end() && patch->offset < pos + bytes.size()) {
            if (patch->offset < pos + done) { // out of order or repeated: ignored
                ++patch;
                continue;
            }
            const std::size_t at = patch->offset - pos;
            if (auto r = out.append(bytes.subspan(done, at - done), copied); !r)
                return error{r.error()};
            if (auto r = out.append(std::span(&patch->value, 1), copied); !r)
                return error{r.error()};
            done = at + 1;
            ++patch;
        }
        if (auto r = out.append(bytes.subspan(done), copied); !r) return error{r.error()};
        pos += bytes.size();
    }
    return out;
}

void truncate_frame(packet& frame, std::size_t length) noexcept {
    frame.trim(length);
    frame.meta().offload = {};
}

byte_patch corruption_patch(const packet& frame, const corruption& c) {
    std::array<std::byte, 1> original{};
    (void)frame.copy_out(c.offset, original); // c.offset < length by construction
    return {c.offset, original[0] ^ c.mask};
}

} // namespace coronet
