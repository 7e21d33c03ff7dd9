#include "protocols/tcp/send_buffer.hpp"

#include <algorithm>

namespace coronet::tcp {

bool send_buffer::tail_writable() const noexcept {
    if (chunks_.empty()) return false;
    const chunk& c = chunks_.back();
    if (c.zero_copy || c.filled >= pool_->buffer_size()) return false;
    // Ours alone? A segment in flight may share it; then it must not be written.
    const auto slices = c.data.slices();
    auto last = slices.begin();
    for (auto it = slices.begin(); it != slices.end(); ++it)
        last = it;
    const auto index = pool_->index_of((*last).data());
    return index && pool_->use_count(*index) == 1;
}

result<std::size_t> send_buffer::write(std::span<const std::byte> bytes, counter& copied) {
    const std::size_t n = std::min(bytes.size(), free_space());
    std::size_t done = 0;
    while (done < n) {
        if (!tail_writable()) {
            // Beyond its share of a host under pressure the queue is full, as if at its
            // capacity: the writer waits for ACKs to shrink it (an ENOBUFS here would make it
            // wait for the pool, which has buffers, and spin).
            if (!may_take(1)) break;
            // The whole buffer for data, held until acknowledged: never from the reserve.
            auto p = packet::allocate(*pool_, 0, buffer_use::queue);
            if (!p) {
                if (done > 0) break;
                return error{p.error()};
            }
            chunks_.push_back(chunk{end_, std::move(*p), 0, false});
            charge_.set(static_cast<std::uint32_t>(chunks_.size()));
        }
        chunk& c = chunks_.back();
        const std::size_t k = std::min<std::size_t>(n - done, pool_->buffer_size() - c.filled);
        // Fits the tail of a buffer that is ours alone: copied in place, cannot fail.
        (void)c.data.append(bytes.subspan(done, k), copied);
        c.filled += static_cast<std::uint32_t>(k);
        done += k;
        end_ += static_cast<std::uint32_t>(k);
    }
    return done;
}

bool send_buffer::may_take(std::size_t buffers) noexcept {
    // An empty queue always takes what fits: the connection makes progress however full the
    // host is, and a packet of more slices than any share still goes out.
    return chunks_.empty() || charge_.may_grow(static_cast<std::uint32_t>(buffers));
}

result<void> send_buffer::send_zc(packet data) {
    if (data.length() > capacity_) return error{EMSGSIZE};
    if (data.length() > free_space()) return error{EAGAIN};
    // One chunk per slice: segment() shares only the chunks a segment spans, so a packet of
    // many buffers handed over at once must not be one chunk (each segment would share, then
    // trim away, all its slices: O(slices) per segment).
    while (!data.empty()) {
        const std::size_t first = (*data.slices().begin()).size();
        auto rest = data.split(first); // on a slice boundary: nothing allocated, cannot fail
        if (!rest) return error{rest.error()};
        if (!data.empty()) {
            chunks_.push_back(chunk{end_, std::move(data), 0, true});
            end_ += static_cast<std::uint32_t>(first);
        }
        data = std::move(*rest);
    }
    charge_.set(static_cast<std::uint32_t>(chunks_.size()));
    return {};
}

namespace {

// Bytes [skip, skip + n) of `from` copied into a new packet of `pool`.
result<packet> copy_piece(const packet& from, std::size_t skip, std::size_t n, buffer_pool& pool,
                          counter& copied) {
    auto out = packet::allocate(pool, 0);
    if (!out) return error{out.error()};
    for (auto s : from.slices()) {
        if (n == 0) break;
        if (skip >= s.size()) {
            skip -= s.size();
            continue;
        }
        const auto piece = s.subspan(skip, std::min(n, s.size() - skip));
        if (auto r = out->append(piece, copied); !r) return error{r.error()};
        n -= piece.size();
        skip = 0;
    }
    return out;
}

} // namespace

result<packet> send_buffer::segment(seq32 seq, std::size_t length, buffer_pool* fallback,
                                    counter* copied) const {
    if (distance(begin_, seq) > size() || length > distance(seq, end_)) return error{EINVAL};
    packet out;
    auto it = std::partition_point(chunks_.begin(), chunks_.end(),
                                   [seq](const chunk& c) { return c.end() <= seq; });
    std::size_t left = length;
    for (; left > 0; ++it) { // the range check above keeps `it` within the chunks
        const std::uint32_t skip = it->begin < seq ? distance(it->begin, seq) : 0;
        auto p = it->data.share();
        if (!p && p.error() == ENOBUFS && fallback != nullptr && copied != nullptr &&
            it->data.pool() != fallback)
            p = copy_piece(it->data, skip, std::min<std::size_t>(left, it->data.length() - skip),
                           *fallback, *copied);
        else if (p)
            (void)p->pull_header(skip); // within the chunk: cannot fail
        if (!p) return error{p.error()};
        p->trim(left);
        left -= p->length();
        out.append(std::move(*p));
    }
    return out;
}

std::size_t send_buffer::acknowledge(seq32 up_to) noexcept {
    if (!(begin_ < up_to) || end_ < up_to) return 0;
    const std::size_t released = distance(begin_, up_to);
    while (!chunks_.empty() && chunks_.front().end() <= up_to)
        chunks_.pop_front();
    if (!chunks_.empty() && chunks_.front().begin < up_to) {
        chunk& c = chunks_.front();
        (void)c.data.pull_header(distance(c.begin, up_to)); // within the chunk
        c.begin = up_to;
    }
    begin_ = up_to;
    charge_.set(static_cast<std::uint32_t>(chunks_.size()));
    return released;
}

} // namespace coronet::tcp
