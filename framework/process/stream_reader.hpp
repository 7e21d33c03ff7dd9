#pragma once
// stream_reader: the "read until a delimiter" helper for stream sockets, and a buffered
// read_exactly beside it. A stream has no message boundaries, so a read may bring bytes past
// the delimiter; the reader keeps them for the next call (as asio's read_until does with its
// dynamic buffer), which a bare process::read cannot give back.
//
//   stream_reader in(proc, conn);
//   auto line = co_await in.read_until("\r\n");   // "GET / HTTP/1.1\r\n"
//   auto body = co_await in.read_exactly(length);
//
// Each result is a view of the reader's buffer, valid until the next call. Errors: those of
// read (ECONNRESET...), ENODATA when the stream ends first (what came stays buffered()),
// EMSGSIZE when `limit` bytes arrive without the delimiter, EINVAL for an empty delimiter.
#include "framework/process/process.hpp"

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace coronet {

class stream_reader {
public:
    static constexpr std::size_t default_limit = 64 * 1024;

    stream_reader(process& p, handle h, std::size_t limit = default_limit)
        : proc_(&p), handle_(h), limit_(limit) {}

    task<result<std::span<const std::byte>>> read_until(std::string_view delimiter) {
        if (delimiter.empty()) co_return error{EINVAL};
        consume();
        const auto delim = std::as_bytes(std::span(delimiter.data(), delimiter.size()));
        std::size_t searched = 0; // bytes already searched, less a delimiter's overlap
        for (;;) {
            const auto have = buffered();
            const auto at = std::search(have.begin() + static_cast<std::ptrdiff_t>(searched), have.end(),
                                        delim.begin(), delim.end());
            if (at != have.end()) {
                const auto n = static_cast<std::size_t>(at - have.begin()) + delim.size();
                used_ = n;
                co_return have.first(n);
            }
            if (have.size() >= limit_) co_return error{EMSGSIZE};
            searched = have.size() >= delim.size() ? have.size() - delim.size() + 1 : 0;
            if (auto r = co_await fill(limit_ - have.size()); !r) co_return error{r.error()};
        }
    }

    task<result<std::span<const std::byte>>> read_exactly(std::size_t n) {
        consume();
        if (n > limit_) co_return error{EMSGSIZE};
        while (buffered().size() < n) {
            if (auto r = co_await fill(n - buffered().size()); !r) co_return error{r.error()};
        }
        const auto out = buffered().first(n);
        used_ = n;
        co_return out;
    }

    // What has arrived and not been returned yet.
    std::span<const std::byte> buffered() const noexcept {
        return std::span<const std::byte>(data_).subspan(start_ + used_);
    }

private:
    // Drops what the last call returned; moves the rest to the front once it is the larger
    // part, so the buffer does not grow with the stream.
    void consume() {
        start_ += used_;
        used_ = 0;
        if (start_ > 0 && start_ >= data_.size() / 2) {
            data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(start_));
            start_ = 0;
        }
    }
    // One read of at most `want` bytes (at least 4 KiB of room) onto the end of the buffer.
    task<result<>> fill(std::size_t want) {
        const std::size_t old = data_.size();
        data_.resize(old + std::max<std::size_t>(want, 4096));
        auto r = co_await proc_->read(handle_, std::span(data_).subspan(old));
        data_.resize(old + (r ? *r : 0));
        if (!r) co_return error{r.error()};
        if (*r == 0) co_return error{ENODATA};
        co_return result<>{};
    }

    process* proc_;
    handle handle_;
    std::size_t limit_;
    std::vector<std::byte> data_;
    std::size_t start_ = 0; // where unconsumed bytes begin
    std::size_t used_ = 0;  // bytes the last call returned (dropped by the next)
};

} // namespace coronet
