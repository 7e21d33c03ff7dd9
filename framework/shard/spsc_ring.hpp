#pragma once
// spsc_ring: a bounded queue of pointers from one thread to one other, without locks: the
// producer alone writes tail_, the consumer alone writes head_, each reads the other's with
// acquire, so a slot's contents are published by the release store of the index that covers
// it. Each index sits on its own cache line, with the other side's last value cached next to
// it, so a burst touches the shared line once per refresh rather than once per item.
// Capacity is a power of two; the indices run freely and wrap modulo 2^64.
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace coronet {

template <class T>
class spsc_ring {
public:
    explicit spsc_ring(std::size_t capacity)
        : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
          slots_(std::make_unique<T*[]>(capacity_)) {}
    spsc_ring(const spsc_ring&) = delete;
    spsc_ring& operator=(const spsc_ring&) = delete;

    std::size_t capacity() const noexcept { return capacity_; }

    // Producer side. False when full (nothing is written).
    bool push(T* item) noexcept {
        const std::uint64_t tail = producer_.index.load(std::memory_order_relaxed);
        if (tail - producer_.other >= capacity_) {
            producer_.other = consumer_.index.load(std::memory_order_acquire);
            if (tail - producer_.other >= capacity_) return false;
        }
        slots_[tail & (capacity_ - 1)] = item;
        producer_.index.store(tail + 1, std::memory_order_release);
        return true;
    }
    // Producer side: items in the ring, at most (the consumer may have taken some since).
    std::size_t occupancy() noexcept {
        producer_.other = consumer_.index.load(std::memory_order_acquire);
        return static_cast<std::size_t>(producer_.index.load(std::memory_order_relaxed) -
                                        producer_.other);
    }

    // Consumer side. Null when empty.
    T* pop() noexcept {
        const std::uint64_t head = consumer_.index.load(std::memory_order_relaxed);
        if (head == consumer_.other) {
            consumer_.other = producer_.index.load(std::memory_order_acquire);
            if (head == consumer_.other) return nullptr;
        }
        T* item = slots_[head & (capacity_ - 1)];
        consumer_.index.store(head + 1, std::memory_order_release);
        return item;
    }

private:
    struct alignas(64) side {
        std::atomic<std::uint64_t> index{0}; // written by this side only
        std::uint64_t other = 0;             // this side's last view of the other's index
    };
    const std::size_t capacity_;
    std::unique_ptr<T*[]> slots_;
    side producer_; // tail
    side consumer_; // head
};

} // namespace coronet
