// IPv4 fragment reassembly (protocols/ipv4/reassembly.hpp) fed a sequence of fragments and
// steps of virtual time, each fragment's fields chosen by the input: a few datagrams at once
// (two sources, two protocols, four identifications), any offset, MF, length (a multiple of 8
// or not). Every data byte is a function of its datagram and its offset in it, so a
// datagram that comes out whole must read as that pattern end to end: any byte misplaced,
// lost or repeated shows. Asserted besides: its length is the header's and at most 65515;
// the held memory stays under the limit and is zero when nothing is held; the pool is whole
// once the reassembler is gone.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/clock.hpp"
#include "framework/counters.hpp"
#include "framework/scheduler.hpp"
#include "protocols/ipv4/reassembly.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <array>
#include <chrono>
#include <vector>

using namespace coronet;

namespace {

constexpr std::size_t memory_limit = 128 * 1024;

std::byte pattern(std::uint16_t id, std::uint32_t offset) noexcept {
    return static_cast<std::byte>((offset + offset / 256 + id * 37u) & 0xff);
}

void check_whole(const ipv4::reassembled& d) {
    FUZZ_CHECK(d.payload.length() == d.header.payload_length);
    FUZZ_CHECK(d.header.buffer_len() <= ipv4::max_packet_length);
    FUZZ_CHECK(d.header.fragment_offset == 0 && !d.header.more_fragments);
    std::vector<std::byte> bytes(d.payload.length());
    (void)d.payload.copy_out(0, bytes);
    for (std::uint32_t i = 0; i < bytes.size(); ++i)
        FUZZ_CHECK(bytes[i] == pattern(d.header.identification, i));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static buffer_pool pool({.buffer_size = 2048, .buffer_count = 256});
    {
        virtual_clock clock;
        scheduler sched{{.time_source = &clock}};
        counter_registry registry;
        ipv4::counters stats(registry);
        std::size_t expired = 0;
        ipv4::reassembler r(
            sched, stats, {.memory_limit = memory_limit},
            [&](std::span<const std::byte> quote) {
                FUZZ_CHECK(quote.size() >= ipv4::min_header_length);
                ++expired;
            },
            0x5eed);
        std::vector<std::byte> bytes;
        for (std::size_t at = 0; at + 5 <= size; at += 5) {
            const std::uint8_t* f = data + at;
            if (f[0] & 0x80) { // a step of virtual time, up to 63 s (the timeout is 30 s)
                clock.advance(std::chrono::seconds(f[0] & 0x3f));
                sched.timers().advance(clock.now());
                continue;
            }
            ipv4::repr h;
            h.identification = static_cast<std::uint16_t>(f[0] & 3);
            h.source = (f[0] & 4) ? ipv4_address{10, 0, 0, 3} : ipv4_address{10, 0, 0, 4};
            h.destination = {10, 0, 0, 2};
            h.protocol = (f[0] & 8) ? ipv4::protocol::udp : ipv4::protocol::tcp;
            h.dont_fragment = false;
            h.more_fragments = (f[1] & 0x80) != 0;
            h.fragment_offset = static_cast<std::uint16_t>((f[1] << 8 | f[2]) & 0x1fff);
            const std::size_t length = std::size_t{f[3]} * 8 + (f[4] & 7);
            h.payload_length = static_cast<std::uint16_t>(length);
            std::array<std::byte, ipv4::min_header_length> raw{};
            ipv4::emit(h, raw);

            const std::uint32_t begin = std::uint32_t{h.fragment_offset} * 8;
            bytes.resize(length);
            for (std::uint32_t i = 0; i < length; ++i)
                bytes[i] = pattern(h.identification, begin + i);
            auto p = packet::allocate(pool);
            if (!p) continue; // the pool is out: what the stack would drop too
            counter copied;
            if (!p->append(bytes, copied)) continue;

            auto whole = r.input(h, raw, std::move(*p));
            if (whole) check_whole(*whole);
            FUZZ_CHECK(r.memory() <= memory_limit);
            FUZZ_CHECK(r.datagrams() != 0 || r.memory() == 0);
            FUZZ_CHECK(r.datagrams() <= 16);
        }
        FUZZ_CHECK(expired <= stats.reasm_timeout.value);
    }
    FUZZ_CHECK(pool.in_use() == 0);
    return 0;
}
