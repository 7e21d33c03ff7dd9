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
        if (data.copy_out(0, small) && data_.append(small, copied)) return; // `data` frees its buffer
    }
    data_.append(std::move(data));
}

std::size_t receive_buffer::read(std::span<std::byte> out, counter& copied) noexcept {
    const std::size_t n = std::min(out.size(), data_.length());
    if (n == 0) return 0;
    (void)data_.copy_out(0, out.first(n), copied); // n <= length: cannot fail
    if (n == data_.length())
        data_.reset(); // frees every buffer, the last one too
    else
        (void)data_.pull_header(n);
    return n;
}

result<packet> receive_buffer::read_zc(std::size_t max) {
    if (max >= data_.length()) {
        packet all = std::move(data_);
        data_.reset();
        return all;
    }
    auto rest = data_.split(max);
    if (!rest) return error{rest.error()};
    packet lent = std::move(data_);
    data_ = std::move(*rest);
    return lent;
}

} // namespace coronet::tcp
