#pragma once
// frame_ring: a NIC's receive ring, a fixed number of slots filled by the wire and emptied by
// the NIC's DPC. Bounded like a real RX descriptor ring: when it is full the next frame finds
// no buffer and is dropped by the caller. No allocation after construction.
#include "framework/buffer/packet.hpp"

#include <cstddef>
#include <utility>
#include <vector>

namespace coronet {

class frame_ring {
public:
    explicit frame_ring(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

    bool full() const noexcept { return count_ == slots_.size(); }
    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }
    std::size_t capacity() const noexcept { return slots_.size(); }

    // The caller checks full() first.
    void push(packet&& frame) noexcept {
        slots_[(head_ + count_) % slots_.size()] = std::move(frame);
        ++count_;
    }
    // The caller checks empty() first.
    packet pop() noexcept {
        packet out = std::move(slots_[head_]);
        head_ = (head_ + 1) % slots_.size();
        --count_;
        return out;
    }

private:
    std::vector<packet> slots_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
};

} // namespace coronet
