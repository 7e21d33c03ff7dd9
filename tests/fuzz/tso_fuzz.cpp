// The TSO segment cutter (drivers/wire/tcp_segmentation.hpp) on a frame whose headers and
// offload metadata come from the input: it either refuses the frame whole, or cuts it into
// segments that each hold the headers and at most gso_size payload bytes, all payload
// accounted for, every segment a valid IPv4 datagram of its own length; the pool is whole
// afterwards.
#include "drivers/wire/tcp_segmentation.hpp"
#include "framework/buffer/buffer_pool.hpp"
#include "framework/counters.hpp"
#include "protocols/ipv4/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <vector>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static buffer_pool pool({.buffer_size = 2048, .buffer_count = 256});
    if (size < 4) return 0;
    {
        auto p = packet::allocate(pool);
        if (!p) return 0;
        counter copied;
        if (!p->append(fuzz::bytes_of(data + 4, size - 4), copied)) return 0;
        auto& o = p->meta().offload;
        o.flags = (data[0] & 1) ? packet_offload::needs_csum : 0;
        o.gso_type = (data[0] & 2) ? packet_offload::gso_tcpv4 : data[0] >> 2;
        o.gso_size = static_cast<std::uint16_t>(data[1] | (data[2] & 0x7) << 8);
        o.hdr_len = data[3];
        o.csum_start = 34;
        o.csum_offset = 16;
        const std::size_t frame_bytes = p->length();
        auto layout = parse_tso(*p);
        std::size_t payload = 0, segments = 0;
        bool bad_segment = false;
        auto n = segment_tso(std::move(*p), [&](packet&& s) -> result<> {
            ++segments;
            const std::size_t len = s.length();
            if (len <= layout->header_bytes || len > layout->header_bytes + layout->mss) bad_segment = true;
            payload += len - layout->header_bytes;
            std::vector<std::byte> bytes(len);
            (void)s.copy_out(0, bytes);
            auto ip = ipv4::parse(std::span<const std::byte>(bytes).subspan(14));
            if (!ip || ip->buffer_len() != len - 14) bad_segment = true;
            return {};
        });
        FUZZ_CHECK(n.has_value() == layout.has_value());
        if (n) {
            FUZZ_CHECK(!bad_segment);
            FUZZ_CHECK(*n == segments && segments == layout->segments());
            FUZZ_CHECK(payload == layout->payload_bytes);
            FUZZ_CHECK(layout->header_bytes + layout->payload_bytes == frame_bytes);
        }
    }
    FUZZ_CHECK(pool.in_use() == 0);
    return 0;
}
