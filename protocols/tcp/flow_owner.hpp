#pragma once
// flow_owner: which shard of a host owns a TCP connection. A host of N shards runs N stacks
// with the same address; a connection lives in exactly one of them, the one this function
// names, so that any shard receiving one of its segments knows where to send it, without
// asking. The hash is keyed (a peer choosing its ports must not be able to pile its
// connections on one shard) and symmetric: the two endpoints are put in a canonical order
// first, so both directions of a flow, and both ends of a connection to ourselves, agree.
// Every shard must hold the same key and count. With count 1 there is nothing to decide.
#include "framework/net/address.hpp"
#include "protocols/tcp/siphash.hpp"

namespace coronet::tcp {

struct flow_owner {
    siphash_key key{};
    unsigned count = 1; // shards
    unsigned me = 0;    // this one

    // The key every shard of a host derives from the host's seed.
    static siphash_key key_from(std::uint64_t seed) noexcept {
        return siphash_key::derive(seed, 0x6f776e6572 /* "owner" */);
    }
    // The owning shard of the connection between `a` and `b` (either order).
    unsigned of(const endpoint& a, const endpoint& b) const noexcept;
    bool mine(const endpoint& a, const endpoint& b) const noexcept {
        return count <= 1 || of(a, b) == me;
    }
};

} // namespace coronet::tcp
