#pragma once
// packet: coronet's sk_buff/mbuf. A chain of slices (buffer, offset, length) of reference-
// counted pool buffers, with headroom in front of the first slice for headers, carrying
// per-packet metadata. It moves between layers by value (a few words), never copying payload.
//
// Why it is built this way (mbuf-like). The slice descriptors come from a fixed descriptor
// pool owned by the buffer pool of the buffer each slice points at (slice.hpp), and the
// packet holds only head, tail, length and count: no heap allocation per packet, moves cost
// a few words, any number of slices, and running out of descriptors is a value like running
// out of buffers. (A small inline array would make every move copy the array and cap the
// chain; an mbuf chain does neither.)
//
// Who frees what. Each slice holds one reference on its buffer; destroying (or trimming,
// pulling, resetting) a packet frees its descriptors and drops those references, and a buffer
// goes back to its pool, or to its pool's release hook, when its last reference goes. A
// buffer whose count is 1 belongs to this packet alone: only then are bytes written in place
// around a slice (headroom by push_header, tailroom by append). A shared buffer is never
// written: a header goes into a new head buffer instead, so other views stay intact.
//
// Failure. Whatever needs a buffer or a descriptor returns a result (ENOBUFS when a pool is
// empty) and leaves the packet exactly as it was. Only the head slice may be empty: a packet
// made by allocate() keeps it for its headroom until a header is pushed.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <utility>

#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/packet_metadata.hpp"
#include "framework/counters.hpp"
#include "framework/result.hpp"

namespace coronet {

class packet {
public:
    static constexpr std::uint32_t default_headroom = 128;
    // The packet holds fewer bytes than asked for (a short frame): pull_header, front,
    // copy_out, split.
    static constexpr error too_short{ENODATA};
    // front(): the bytes lie in more than one buffer; copy_out() them instead.
    static constexpr error not_contiguous{EXDEV};

    // The slices as byte spans, in order (what a driver turns into iovecs).
    class slice_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::span<const std::byte>;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = value_type;

        slice_iterator() noexcept = default;
        explicit slice_iterator(const slice* s) noexcept : s_(s) {}
        value_type operator*() const noexcept {
            return s_->pool->data(s_->index).subspan(s_->offset, s_->length);
        }
        slice_iterator& operator++() noexcept {
            s_ = s_->next;
            return *this;
        }
        slice_iterator operator++(int) noexcept {
            auto old = *this;
            s_ = s_->next;
            return old;
        }
        friend bool operator==(slice_iterator, slice_iterator) = default;

    private:
        const slice* s_ = nullptr;
    };
    struct slice_range {
        slice_iterator b, e;
        slice_iterator begin() const noexcept { return b; }
        slice_iterator end() const noexcept { return e; }
    };

    // An empty packet with no pool: it gets one from the first slice appended to it.
    packet() noexcept = default;
    packet(packet&& other) noexcept { take(other); }
    packet& operator=(packet&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    ~packet() { reset(); }

    // An empty packet whose first buffer, from `pool`, keeps `headroom` bytes for headers.
    // ENOBUFS when the pool has no buffer or descriptor (a queue's: none but the reserve);
    // EINVAL when headroom exceeds a buffer.
    static result<packet> allocate(buffer_pool& pool, std::uint32_t headroom = default_headroom,
                                   buffer_use use = buffer_use::control);
    // A packet of `length` bytes at `offset` in `buf` (a received frame), sharing the buffer.
    static result<packet> wrap(const buffer_ref& buf, std::uint32_t offset, std::uint32_t length);

    std::size_t length() const noexcept { return length_; }
    std::size_t slice_count() const noexcept { return count_; }
    bool empty() const noexcept { return length_ == 0; }
    // Where new buffers come from (headers, copied bytes); nullptr for a default packet.
    buffer_pool* pool() const noexcept { return pool_; }
    // Bytes push_header can take in place, without a new buffer.
    std::uint32_t headroom() const noexcept {
        return head_ != nullptr && head_->pool->refs_[head_->index] == 1 ? head_->offset : 0;
    }
    packet_metadata& meta() noexcept { return meta_; }
    const packet_metadata& meta() const noexcept { return meta_; }
    slice_range slices() const noexcept { return {slice_iterator(head_), slice_iterator()}; }

    // --- headers ---
    // n writable bytes at the front: from the headroom when the head buffer is ours alone and
    // has room, else from a new head buffer. EMSGSIZE when n exceeds a buffer, ENOBUFS.
    result<std::span<std::byte>> push_header(std::uint32_t n) {
        if (head_ != nullptr && n <= head_->offset && head_->pool->refs_[head_->index] == 1) {
            head_->offset -= n;
            head_->length += n;
            length_ += n;
            meta_.front_pushed(n);
            return std::span<std::byte>(head_->pool->at(head_->index) + head_->offset, n);
        }
        return push_header_new_buffer(n);
    }
    // Drops n bytes from the front, across slices if need be; too_short when n > length().
    result<void> pull_header(std::size_t n);
    // The first n bytes, when they lie in one buffer; too_short or not_contiguous otherwise.
    result<std::span<const std::byte>> front(std::size_t n) const;
    // Copies out.size() bytes from `offset` into `out` (headers: not counted as payload copy);
    // too_short when the packet ends first.
    result<void> copy_out(std::size_t offset, std::span<std::byte> out) const;
    // The same for payload (read): adds the bytes copied to `copied`.
    result<void> copy_out(std::size_t offset, std::span<std::byte> out, counter& copied) const;

    // --- payload ---
    // Copies `bytes` in at the end (write's copy, by contract), filling the tail buffer when it
    // is ours alone, then new buffers; adds the bytes copied to `copied`.
    result<void> append(std::span<const std::byte> bytes, counter& copied);
    // Chains `length` bytes at `offset` of `buf` without copying (send_zc); the packet takes
    // its own reference. EINVAL when the range is outside the buffer, ENOBUFS.
    result<void> append_slice(const buffer_ref& buf, std::uint32_t offset, std::uint32_t length);
    // Moves the chain of `tail` to the end of this one (no copy, cannot fail); tail is left
    // empty. The metadata stays this packet's.
    void append(packet&& tail) noexcept;

    // --- views ---
    // A second packet over the same bytes (counts up, no copy). ENOBUFS for descriptors.
    result<packet> share() const;
    // Bytes [at, length()) move to the returned packet, sharing the buffer cut in two; this
    // keeps [0, at). The tail gets the timestamp but no offload. too_short when at > length().
    result<packet> split(std::size_t at);
    // Keeps only the first n bytes (nothing happens when n >= length()).
    void trim(std::size_t n) noexcept;
    // Releases everything: an empty packet with no slices and no metadata (the pool stays).
    void reset() noexcept;

private:
    void take(packet& other) noexcept {
        pool_ = other.pool_;
        head_ = std::exchange(other.head_, nullptr);
        tail_ = std::exchange(other.tail_, nullptr);
        length_ = std::exchange(other.length_, 0);
        count_ = std::exchange(other.count_, 0);
        meta_ = other.meta_;
    }
    static void free_slice(slice* s) noexcept {
        buffer_pool* p = s->pool;
        const auto index = s->index;
        p->slices().free(s);
        p->release(index);
    }
    static void free_chain(slice* s) noexcept {
        while (s != nullptr)
            free_slice(std::exchange(s, s->next));
    }
    // A descriptor over a fresh buffer of `pool` (count 1), or nullptr when either is missing.
    static slice* new_buffer_slice(buffer_pool& pool, std::uint32_t offset,
                                   std::uint32_t length) noexcept;
    void link_tail(slice* s) noexcept;
    result<std::span<std::byte>> push_header_new_buffer(std::uint32_t n);

    buffer_pool* pool_ = nullptr;
    slice* head_ = nullptr;
    slice* tail_ = nullptr;
    std::size_t length_ = 0;
    std::size_t count_ = 0;
    packet_metadata meta_;
};

inline result<packet> packet::allocate(buffer_pool& pool, std::uint32_t headroom, buffer_use use) {
    if (headroom > pool.buffer_size()) return error{EINVAL};
    slice* s = pool.slices().allocate();
    if (s == nullptr) return error{ENOBUFS};
    const auto index = pool.take(use);
    if (index == buffer_pool::no_buffer) {
        pool.slices().free(s);
        return error{ENOBUFS};
    }
    *s = slice{&pool, index, headroom, 0, nullptr};
    packet p;
    p.pool_ = &pool;
    p.head_ = p.tail_ = s;
    p.count_ = 1;
    return p;
}

inline void packet::reset() noexcept {
    free_chain(std::exchange(head_, nullptr));
    tail_ = nullptr;
    length_ = 0;
    count_ = 0;
    meta_ = {};
}

} // namespace coronet
