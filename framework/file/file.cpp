#include "framework/file/file.hpp"

#include "framework/file/file_ops.hpp"
#include "framework/uring/ops.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

namespace coronet::fs {

namespace {

constexpr int open_flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

file_status status_of(const struct statx& s) noexcept {
    return file_status{
        .size = s.stx_size,
        .mtime_ns =
            static_cast<std::int64_t>(s.stx_mtime.tv_sec) * 1'000'000'000 + s.stx_mtime.tv_nsec,
        .inode = s.stx_ino,
        .device = (std::uint64_t{s.stx_dev_major} << 32) | s.stx_dev_minor,
        .mode = s.stx_mode,
    };
}

result<file_status> statx_result(result<struct statx> r) {
    if (!r) return error{r.error()};
    return status_of(*r);
}

result<std::size_t> syscall_size(ssize_t n) {
    if (n < 0) return error{errno};
    return static_cast<std::size_t>(n);
}

// The descriptor an open gave, as a file for reading: O_NONBLOCK (set so that a FIFO cannot
// hold the open) is cleared (open()'s comment in file.hpp says why).
result<file> opened_for_reading(int fd) {
    file f(fd);
    // F_SETFL changes the descriptor's flags and waits for nothing.
    if (::fcntl(fd, F_SETFL, 0) != 0) return error{errno};
    return f;
}

task<result<file_status>> statx_at(int dirfd, std::string path, int flags) {
    if (auto* r = uring::uring_reactor::current_or_null())
        co_return statx_result(co_await detail::statx_op(*r, dirfd, std::move(path), flags));
    struct statx s {};
    if (::statx(dirfd, path.c_str(), flags, STATX_BASIC_STATS, &s) != 0) co_return error{errno};
    co_return status_of(s);
}

} // namespace

void file::reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

task<result<file>> open(std::string path) {
    int fd;
    if (auto* r = uring::uring_reactor::current_or_null()) {
        auto opened = co_await detail::openat_op(*r, std::move(path), open_flags);
        if (!opened) co_return error{opened.error()};
        fd = *opened;
    } else {
        fd = ::openat(AT_FDCWD, path.c_str(), open_flags);
        if (fd < 0) co_return error{errno};
    }
    co_return opened_for_reading(fd);
}

result<file> open_directory(const std::string& path) {
    const int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return error{errno};
    return file(fd);
}

task<result<file>> open_beneath(const file& dir, std::string relative) {
    if (!dir.is_open()) co_return error{EBADF};
    open_how how{};
    how.flags = open_flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd;
    if (auto* r = uring::uring_reactor::current_or_null()) {
        auto opened = co_await detail::openat2_op(*r, dir.fd(), std::move(relative), how);
        if (!opened) co_return error{opened.error()};
        fd = *opened;
    } else {
        fd = static_cast<int>(::syscall(SYS_openat2, dir.fd(), relative.c_str(), &how, sizeof how));
        if (fd < 0) co_return error{errno};
    }
    co_return opened_for_reading(fd);
}

task<result<file_status>> stat_at(const file& dir, std::string relative) {
    if (!dir.is_open()) co_return error{EBADF};
    co_return co_await statx_at(dir.fd(), std::move(relative), 0);
}

task<result<file_status>> stat(std::string path) { return statx_at(AT_FDCWD, std::move(path), 0); }

task<result<file_status>> stat(const file& f) {
    if (!f.is_open()) co_return error{EBADF};
    co_return co_await statx_at(f.fd(), "", AT_EMPTY_PATH);
}

task<result<std::size_t>> read(const file& f, std::span<std::byte> buf, std::uint64_t offset) {
    if (!f.is_open()) co_return error{EBADF};
    if (auto* r = uring::uring_reactor::current_or_null())
        co_return co_await uring::read_op(*r, f.fd(), buf, offset);
    co_return syscall_size(::pread(f.fd(), buf.data(), buf.size(), static_cast<off_t>(offset)));
}

task<result<packet>> read(const file& f, buffer_pool& pool, std::uint64_t offset, std::size_t max) {
    if (!f.is_open()) co_return error{EBADF};
    if (max == 0) co_return packet{};
    const std::size_t size = pool.buffer_size();
    const std::size_t count = std::min((max + size - 1) / size, max_read_buffers);
    std::array<buffer_ref, max_read_buffers> bufs;
    std::array<iovec, max_read_buffers> iov{};
    std::size_t asked = 0;
    for (std::size_t i = 0; i < count; ++i) {
        auto b = pool.allocate();
        if (!b) co_return error{ENOBUFS};
        bufs[i] = std::move(*b);
        iov[i].iov_base = bufs[i].data().data();
        iov[i].iov_len = std::min(size, max - asked);
        asked += iov[i].iov_len;
    }
    result<std::size_t> n = error{EINVAL};
    const std::span<const iovec> vec(iov.data(), count);
    if (auto* r = uring::uring_reactor::current_or_null())
        n = co_await uring::readv_op(*r, f.fd(), vec, offset);
    else
        n = syscall_size(
            ::preadv(f.fd(), vec.data(), static_cast<int>(count), static_cast<off_t>(offset)));
    if (!n) co_return error{n.error()};
    packet out;
    for (std::size_t i = 0, left = *n; i < count && left > 0; ++i) {
        const auto len = static_cast<std::uint32_t>(std::min(left, iov[i].iov_len));
        if (auto a = out.append_slice(bufs[i], 0, len); !a) co_return error{a.error()};
        left -= len;
    }
    co_return out; // the buffers past the bytes read go back with `bufs`
}

task<result<>> close(file& f) {
    if (!f.is_open()) co_return error{EBADF};
    const int fd = f.release();
    if (auto* r = uring::uring_reactor::current_or_null())
        co_return co_await detail::close_op(*r, fd);
    if (::close(fd) != 0) co_return error{errno};
    co_return result<>{};
}

} // namespace coronet::fs
