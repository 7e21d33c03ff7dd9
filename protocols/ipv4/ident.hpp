#pragma once
// The IP identification field (RFC 791 §3.1), chosen per RFC 6864.
//
// RFC 6864 §4.1: "The IPv4 ID field MUST NOT be used for purposes other than fragmentation
// and reassembly" and, for datagrams that may be fragmented, "the ID MUST be unique" within
// one (source, destination, protocol) for at least the maximum datagram lifetime. A single
// global counter is unique but tells an observer how many datagrams a host sends to anyone
// (RFC 7739 §5.1); one counter per destination leaks nothing but needs a table of
// destinations. We follow Linux's middle road (ip_idents): 2048 counters selected by a hash
// of the triple, each started at a random value. Datagrams to one destination step through
// one counter, so IDs are unique for 65536 datagrams in a row; two destinations rarely share.
#include "framework/net/address.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace coronet::ipv4 {

class ident_generator {
public:
    static constexpr std::size_t buckets = 2048;

    explicit ident_generator(std::uint64_t seed) {
        std::mt19937_64 rng(seed);
        key_ = rng();
        for (auto& c : counters_)
            c = static_cast<std::uint16_t>(rng());
    }
    std::uint16_t next(ipv4_address source, ipv4_address destination,
                       std::uint8_t protocol) noexcept {
        const std::uint64_t x = (std::uint64_t{source.to_uint()} << 32 | destination.to_uint()) ^
                                (std::uint64_t{protocol} << 56) ^ key_;
        return counters_[detail::mix_hash(x) % buckets]++;
    }

private:
    std::uint64_t key_;
    std::array<std::uint16_t, buckets> counters_;
};

} // namespace coronet::ipv4
