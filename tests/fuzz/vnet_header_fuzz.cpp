// The virtio-net header in front of every frame read from the TAP device: whatever the
// kernel (or a peer crafting GSO metadata) puts there, an offload to_offload() accepts
// points inside the frame, and converts back to the same header fields it came from.
#include "drivers/tap/vnet_header.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < vnet_header_bytes) return 0;
    const auto in = fuzz::bytes_of(data, size);
    const auto h = read_vnet_header(in);
    const std::size_t frame = size - vnet_header_bytes;
    auto o = to_offload(h, frame);
    if (!o) return 0;
    if (o->flags & packet_offload::needs_csum)
        FUZZ_CHECK(std::size_t{o->csum_start} + o->csum_offset + 2 <= frame);
    if (o->gso_type != packet_offload::gso_none) {
        FUZZ_CHECK(o->hdr_len <= frame);
        FUZZ_CHECK(o->gso_size > 0);
    }
    auto o2 = to_offload(to_vnet_header(*o), frame);
    FUZZ_CHECK(o2.has_value());
    return 0;
}
