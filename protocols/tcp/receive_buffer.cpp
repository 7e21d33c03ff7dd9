#include "protocols/tcp/receive_buffer.hpp"

#include <algorithm>
#include <array>

namespace coronet::tcp {

void receive_buffer::append(packet data) noexcept {
    if (data.empty()) return;
    if (data.length() < coalesce_below && !data_.empty()) {
        std::array<std::byte, coalesce_below> bytes;
        const auto small = std::span(bytes).first(data.length());
        counter copied;
        if (data.copy_out(0, small) && data_.append(small, copied)) { // `data` frees its buffer
            charge();
            return;
        }
    }
    data_.append(std::move(data));
    charge();
}

bool receive_buffer::try_append(packet& data) noexcept {
    // A small payload is copied behind the data: at most one buffer more, filled before the
    // next, so it is not asked for.
    const bool copied_in = data.length() < coalesce_below;
    if (!data_.empty() && !copied_in &&
        !charge_.may_grow(static_cast<std::uint32_t>(data.slice_count())))
        return false;
    append(std::move(data));
    return true;
}

std::size_t receive_buffer::collapse(buffer_pool& pool, counter& copied) noexcept {
    const std::size_t size = pool.buffer_size();
    // Slices at least half full are left alone, as Linux's tcp_collapse skips buffers whose
    // truesize is near their length: a collapse then copies only what arrived sparse since
    // the last one, and the bytes copied per byte received stay bounded.
    std::size_t dense_bytes = 0;
    std::size_t dense_slices = 0;
    for (auto bytes : data_.slices()) {
        if (bytes.size() < size / 2) break;
        dense_bytes += bytes.size();
        ++dense_slices;
    }
    const std::size_t sparse_bytes = data_.length() - dense_bytes;
    const std::size_t sparse_slices = data_.slice_count() - dense_slices;
    if (sparse_slices <= (sparse_bytes + size - 1) / size) return 0; // as full as it gets
    auto sparse = data_.split(dense_bytes); // on a slice boundary: nothing allocated
    if (!sparse) return 0;
    // Built aside, so that running out of buffers half-way leaves the queue as it was.
    packet collapsed;
    packet tail; // the buffer being filled
    std::size_t room = 0;
    for (auto bytes : sparse->slices()) {
        while (!bytes.empty()) {
            if (room == 0) {
                auto fresh = packet::allocate(pool, 0, buffer_use::queue);
                if (!fresh) {
                    data_.append(std::move(*sparse));
                    return 0;
                }
                collapsed.append(std::move(tail));
                tail = std::move(*fresh);
                room = size;
            }
            const std::size_t k = std::min(room, bytes.size());
            // Into the buffer's own room (it is ours alone): cannot fail.
            (void)tail.append(bytes.first(k), copied);
            bytes = bytes.subspan(k);
            room -= k;
        }
    }
    collapsed.append(std::move(tail));
    data_.append(std::move(collapsed));
    charge();
    return sparse_slices - (data_.slice_count() - dense_slices);
}

std::size_t receive_buffer::read(std::span<std::byte> out, counter& copied) noexcept {
    const std::size_t n = std::min(out.size(), data_.length());
    if (n == 0) return 0;
    (void)data_.copy_out(0, out.first(n), copied); // n <= length: cannot fail
    if (n == data_.length())
        data_.reset(); // frees every buffer, the last one too
    else
        (void)data_.pull_header(n);
    charge();
    return n;
}

result<packet> receive_buffer::read_zc(std::size_t max) {
    if (max >= data_.length()) {
        packet all = std::move(data_);
        data_.reset();
        charge();
        return all;
    }
    auto rest = data_.split(max);
    if (!rest) return error{rest.error()};
    packet lent = std::move(data_);
    data_ = std::move(*rest);
    charge();
    return lent;
}

} // namespace coronet::tcp
