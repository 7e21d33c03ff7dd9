#pragma once
// The UDP port table: local port -> the sockets bound to it, as a hash table with open
// addressing (linear probing, power-of-two capacity, at most half full). A lookup is one
// multiply, one shift and usually one cache line; std::unordered_map's modulo by a prime
// and node chasing cost several times that on every received datagram. Deletion shifts
// the following entries back (Knuth 6.4, algorithm R), so no tombstones accumulate.
#include <cstdint>
#include <vector>

namespace coronet::udp {

class socket;

class port_table {
public:
    using bucket = std::vector<socket*>; // at most one per local address, plus the wildcard

    port_table() : slots_(16) {}

    const bucket* find(std::uint16_t port) const noexcept {
        for (std::size_t i = home(port);; i = next(i)) {
            const slot& s = slots_[i];
            if (!s.used) return nullptr;
            if (s.port == port) return &s.sockets;
        }
    }
    bucket* find(std::uint16_t port) noexcept {
        return const_cast<bucket*>(static_cast<const port_table&>(*this).find(port));
    }
    bool contains(std::uint16_t port) const noexcept { return find(port) != nullptr; }
    std::size_t size() const noexcept { return count_; }

    bucket& get_or_add(std::uint16_t port) {
        if (bucket* b = find(port)) return *b;
        if ((count_ + 1) * 2 > slots_.size()) grow();
        std::size_t i = home(port);
        while (slots_[i].used)
            i = next(i);
        slots_[i].used = true;
        slots_[i].port = port;
        ++count_;
        return slots_[i].sockets;
    }

    void erase(std::uint16_t port) noexcept {
        std::size_t i = home(port);
        while (slots_[i].used && slots_[i].port != port)
            i = next(i);
        if (!slots_[i].used) return;
        slots_[i] = slot{};
        --count_;
        // Move back every entry after the hole that may not stay beyond it.
        for (std::size_t j = next(i); slots_[j].used; j = next(j)) {
            const std::size_t k = home(slots_[j].port);
            const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (stays) continue;
            slots_[i] = std::move(slots_[j]);
            slots_[j] = slot{};
            i = j;
        }
    }

private:
    struct slot {
        std::uint16_t port = 0;
        bool used = false;
        bucket sockets;
    };
    std::size_t home(std::uint16_t port) const noexcept {
        // Fibonacci hashing: the top bits of port * 2^32/phi.
        return static_cast<std::size_t>((std::uint32_t{port} * 0x9e3779b1u) >> shift_);
    }
    std::size_t next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }
    void grow() {
        std::vector<slot> old(slots_.size() * 2);
        old.swap(slots_);
        --shift_;
        for (auto& s : old)
            if (s.used) {
                std::size_t i = home(s.port);
                while (slots_[i].used)
                    i = next(i);
                slots_[i] = std::move(s);
            }
    }

    std::vector<slot> slots_;
    std::size_t count_ = 0;
    unsigned shift_ = 28; // 32 - log2(16)
};

} // namespace coronet::udp
