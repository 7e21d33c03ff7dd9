#include "framework/buffer/packet.hpp"

#include <algorithm>
#include <cstring>

namespace coronet {

slice* packet::new_buffer_slice(buffer_pool& pool, std::uint32_t offset,
                                std::uint32_t length) noexcept {
    slice* s = pool.slices().allocate();
    if (s == nullptr) return nullptr;
    const auto index = pool.take();
    if (index == buffer_pool::no_buffer) {
        pool.slices().free(s);
        return nullptr;
    }
    *s = slice{&pool, index, offset, length, nullptr};
    return s;
}

void packet::link_tail(slice* s) noexcept {
    if (tail_ == nullptr)
        head_ = s;
    else
        tail_->next = s;
    tail_ = s;
    ++count_;
    length_ += s->length;
}

result<packet> packet::wrap(const buffer_ref& buf, std::uint32_t offset, std::uint32_t length) {
    packet p;
    if (auto r = p.append_slice(buf, offset, length); !r) return error{r.error()};
    if (p.head_ == nullptr) { // an empty frame still gets its slice, for the headroom
        slice* s = buf.pool()->slices().allocate();
        if (s == nullptr) return error{ENOBUFS};
        buf.pool()->retain(buf.index());
        *s = slice{buf.pool(), buf.index(), offset, 0, nullptr};
        p.link_tail(s);
    }
    return p;
}

result<std::span<std::byte>> packet::push_header_new_buffer(std::uint32_t n) {
    if (pool_ == nullptr) return error{EINVAL};
    if (n > pool_->buffer_size()) return error{EMSGSIZE};
    // The header goes at the end of the new buffer: the rest is headroom for the next one.
    slice* s = new_buffer_slice(*pool_, pool_->buffer_size() - n, n);
    if (s == nullptr) return error{ENOBUFS};
    if (head_ != nullptr && head_->length == 0) {
        // An empty head slice had too little room (or is shared): the new buffer replaces it.
        s->next = head_->next;
        if (tail_ == head_) tail_ = s;
        free_slice(head_);
    } else {
        s->next = head_;
        if (tail_ == nullptr) tail_ = s;
        ++count_;
    }
    head_ = s;
    length_ += n;
    meta_.front_pushed(n);
    return std::span<std::byte>(pool_->at(s->index) + s->offset, n);
}

result<void> packet::pull_header(std::size_t n) {
    if (n > length_) return too_short;
    if (n == 0) return {};
    length_ -= n;
    meta_.front_pulled(static_cast<std::uint32_t>(std::min<std::size_t>(n, UINT32_MAX)));
    while (n > 0) {
        if (n >= head_->length && head_->next != nullptr) {
            n -= head_->length;
            free_slice(std::exchange(head_, head_->next));
            --count_;
        } else {
            const auto k = static_cast<std::uint32_t>(n); // n <= head_->length here
            head_->offset += k;
            head_->length -= k;
            n = 0;
        }
    }
    return {};
}

result<std::span<const std::byte>> packet::front(std::size_t n) const {
    if (n > length_) return too_short;
    if (n == 0) return std::span<const std::byte>();
    const slice* s = head_;
    while (s->length == 0)
        s = s->next; // only the head may be empty
    if (n > s->length) return not_contiguous;
    return std::span<const std::byte>(s->pool->at(s->index) + s->offset, n);
}

result<void> packet::copy_out(std::size_t offset, std::span<std::byte> out) const {
    if (offset > length_ || out.size() > length_ - offset) return too_short;
    std::size_t done = 0;
    for (const slice* s = head_; s != nullptr && done < out.size(); s = s->next) {
        if (offset >= s->length) {
            offset -= s->length;
            continue;
        }
        const auto k = std::min<std::size_t>(s->length - offset, out.size() - done);
        std::memcpy(out.data() + done, s->pool->at(s->index) + s->offset + offset, k);
        done += k;
        offset = 0;
    }
    return {};
}

result<void> packet::copy_out(std::size_t offset, std::span<std::byte> out, counter& copied) const {
    auto r = copy_out(offset, out);
    if (r) copied += out.size();
    return r;
}

result<void> packet::append(std::span<const std::byte> bytes, counter& copied) {
    if (bytes.empty()) return {};
    // Room after the tail slice, usable only when its buffer is ours alone.
    std::size_t room = 0;
    if (tail_ != nullptr && tail_->pool->refs_[tail_->index] == 1)
        room = tail_->pool->buffer_size() - (tail_->offset + tail_->length);
    const std::size_t in_tail = std::min(room, bytes.size());
    const std::size_t rest = bytes.size() - in_tail;

    // Every buffer first, so that running out leaves the packet as it was.
    slice* first = nullptr;
    slice* last = nullptr;
    std::size_t added = 0;
    if (rest > 0) {
        if (pool_ == nullptr) return error{EINVAL};
        const std::size_t size = pool_->buffer_size();
        for (std::size_t left = rest; left > 0; left -= std::min(left, size)) {
            const auto len = static_cast<std::uint32_t>(std::min(left, size));
            slice* s = new_buffer_slice(*pool_, 0, len);
            if (s == nullptr) {
                free_chain(first);
                return error{ENOBUFS};
            }
            (last == nullptr ? first : last->next) = s;
            last = s;
            ++added;
        }
    }

    const std::byte* from = bytes.data();
    if (in_tail > 0) {
        std::memcpy(tail_->pool->at(tail_->index) + tail_->offset + tail_->length, from, in_tail);
        tail_->length += static_cast<std::uint32_t>(in_tail);
        length_ += in_tail;
        from += in_tail;
    }
    for (slice* s = first; s != nullptr; s = s->next) {
        std::memcpy(pool_->at(s->index), from, s->length);
        from += s->length;
    }
    if (first != nullptr) {
        if (tail_ == nullptr)
            head_ = first;
        else
            tail_->next = first;
        tail_ = last;
        count_ += added;
        length_ += bytes.size() - in_tail;
    }
    copied += bytes.size();
    return {};
}

result<void> packet::append_slice(const buffer_ref& buf, std::uint32_t offset,
                                  std::uint32_t length) {
    buffer_pool* p = buf.pool();
    if (p == nullptr || offset > p->buffer_size() || length > p->buffer_size() - offset)
        return error{EINVAL};
    if (length == 0) return {};
    slice* s = p->slices().allocate();
    if (s == nullptr) return error{ENOBUFS};
    p->retain(buf.index());
    *s = slice{p, buf.index(), offset, length, nullptr};
    link_tail(s);
    if (pool_ == nullptr) pool_ = p;
    return {};
}

void packet::append(packet&& tail) noexcept {
    if (&tail == this || tail.head_ == nullptr) return;
    if (tail.head_->length == 0) { // its empty head slice (headroom) would sit mid-chain
        slice* empty = std::exchange(tail.head_, tail.head_->next);
        if (tail.tail_ == empty) tail.tail_ = nullptr;
        free_slice(empty);
        --tail.count_;
    }
    if (tail.head_ != nullptr) {
        if (tail_ == nullptr)
            head_ = tail.head_;
        else
            tail_->next = tail.head_;
        tail_ = tail.tail_;
        length_ += tail.length_;
        count_ += tail.count_;
    }
    if (pool_ == nullptr) pool_ = tail.pool_;
    tail.head_ = tail.tail_ = nullptr;
    tail.length_ = tail.count_ = 0;
}

result<packet> packet::share() const {
    packet copy;
    copy.pool_ = pool_;
    copy.meta_ = meta_;
    for (const slice* s = head_; s != nullptr; s = s->next) {
        slice* c = s->pool->slices().allocate();
        if (c == nullptr) return error{ENOBUFS}; // `copy` gives back what it took
        s->pool->retain(s->index);
        *c = slice{s->pool, s->index, s->offset, s->length, nullptr};
        copy.link_tail(c);
    }
    return copy;
}

result<packet> packet::split(std::size_t at) {
    if (at > length_) return too_short;
    packet rest;
    rest.pool_ = pool_;
    rest.meta_.timestamp_ns = meta_.timestamp_ns;

    // s: the slice holding byte `at` (nullptr when at == length_); prev: the one before.
    slice* prev = nullptr;
    slice* s = head_;
    std::size_t before = 0; // bytes in the slices before s
    std::size_t kept = 0;   // slices before s
    while (s != nullptr && at >= before + s->length) {
        before += s->length;
        prev = s;
        s = s->next;
        ++kept;
    }
    if (s == nullptr) return rest;

    if (at == before) { // on a slice boundary: the chain is cut, nothing is allocated
        rest.head_ = s;
        rest.tail_ = tail_;
        rest.count_ = count_ - kept;
        tail_ = prev;
        if (prev == nullptr)
            head_ = nullptr;
        else
            prev->next = nullptr;
        count_ = kept;
    } else { // inside s: both packets reference its buffer
        slice* t = s->pool->slices().allocate();
        if (t == nullptr) return error{ENOBUFS};
        const auto k = static_cast<std::uint32_t>(at - before);
        s->pool->retain(s->index);
        *t = slice{s->pool, s->index, s->offset + k, s->length - k, s->next};
        s->length = k;
        s->next = nullptr;
        rest.head_ = t;
        rest.tail_ = tail_ == s ? t : tail_;
        rest.count_ = count_ - kept;
        tail_ = s;
        count_ = kept + 1;
    }
    rest.length_ = length_ - at;
    length_ = at;
    return rest;
}

void packet::trim(std::size_t n) noexcept {
    if (n >= length_ || head_ == nullptr) return;
    // The slice holding the last byte kept; the head (with its headroom) when n == 0.
    slice* s = head_;
    std::size_t before = 0;
    std::size_t kept = 1;
    while (before + s->length < n) {
        before += s->length;
        s = s->next;
        ++kept;
    }
    s->length = static_cast<std::uint32_t>(n - before);
    free_chain(std::exchange(s->next, nullptr));
    tail_ = s;
    count_ = kept;
    length_ = n;
}

} // namespace coronet
