#include "framework/process/stream_writer.hpp"

namespace coronet {

task<result<>> stream_writer::write(std::span<const std::byte> bytes) {
    if (bytes.empty()) co_return result<>{};
    bool copied = false;
    if (copying_.pool() == nullptr) {
        if (auto fresh = packet::allocate(*pool_, 0, buffer_use::queue))
            copying_ = std::move(*fresh);
    }
    if (copying_.pool() != nullptr) copied = copying_.append(bytes, copied_).has_value();
    if (!copied) {
        // No buffer free in the pool: what is pending first, then these bytes as a write.
        if (auto f = co_await flush(); !f) co_return f;
        co_return co_await proc_->write_all(handle_, bytes);
    }
    if (pending() >= flush_at_) co_return co_await flush();
    co_return result<>{};
}

task<result<>> stream_writer::write(packet data) {
    seal();
    ready_.append(std::move(data));
    if (pending() >= flush_at_) co_return co_await flush();
    co_return result<>{};
}

task<result<>> stream_writer::flush() {
    seal();
    if (ready_.empty()) co_return result<>{};
    auto sent = co_await proc_->send_zc_all(handle_, ready_);
    if (sent || sent.error() != EOPNOTSUPP) co_return sent;
    // A stack without send_zc: one write per slice, each dropped once written.
    while (!ready_.empty()) {
        const auto first = *ready_.slices().begin();
        if (auto w = co_await proc_->write_all(handle_, first); !w) co_return w;
        if (auto cut = ready_.pull_header(first.size()); !cut) co_return error{EIO};
    }
    co_return result<>{};
}

} // namespace coronet
