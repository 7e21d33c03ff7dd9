#include "protocols/tcp/receive_buffer.hpp"

#include <algorithm>

namespace coronet::tcp {

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
