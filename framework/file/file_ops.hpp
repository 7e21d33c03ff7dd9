#pragma once
// The io_uring operations that open and inspect files (IORING_OP_OPENAT, IORING_OP_OPENAT2,
// IORING_OP_STATX, IORING_OP_CLOSE), as awaitables in the style of uring/ops.hpp; reads use uring::read_op
// and uring::readv_op. liburing 2.3 has every prep helper these need, so no shim is
// involved. The kernel runs openat and statx on an io-wq worker when the path is not
// in the dentry cache, so a slow lookup holds that worker, never the event loop.
#include "framework/result.hpp"
#include "framework/uring/operation.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <string>
#include <sys/stat.h>

namespace coronet::fs::detail {

// Opens `path`: the new descriptor. The path is copied into the awaiter: the SQE points at
// it until the kernel has read it, which may be after the caller's string went away.
class openat_op : public uring::operation {
public:
    openat_op(uring::uring_reactor& r, std::string path, int flags)
        : operation(r), path_(std::move(path)) {
        io_uring_prep_openat(sqe(), AT_FDCWD, path_.c_str(), flags, 0);
    }
    result<int> await_resume() noexcept {
        const int res = finish();
        return res < 0 ? result<int>{error{-res}} : result<int>{res};
    }

private:
    std::string path_;
};

// Opens `path` relative to the directory `dirfd` with openat2's resolve rules (`how`): the
// new descriptor. Path and rules are copied into the awaiter for the kernel to read later.
class openat2_op : public uring::operation {
public:
    openat2_op(uring::uring_reactor& r, int dirfd, std::string path, const open_how& how)
        : operation(r), path_(std::move(path)), how_(how) {
        io_uring_prep_openat2(sqe(), dirfd, path_.c_str(), &how_);
    }
    result<int> await_resume() noexcept {
        const int res = finish();
        return res < 0 ? result<int>{error{-res}} : result<int>{res};
    }

private:
    std::string path_;
    open_how how_;
};

// statx of `path` (relative to AT_FDCWD), or of the descriptor itself with an empty path
// and AT_EMPTY_PATH. The result lands in the awaiter.
class statx_op : public uring::operation {
public:
    statx_op(uring::uring_reactor& r, int dirfd, std::string path, int flags)
        : operation(r), path_(std::move(path)) {
        io_uring_prep_statx(sqe(), dirfd, path_.c_str(), flags, STATX_BASIC_STATS, &stx_);
    }
    result<struct statx> await_resume() noexcept {
        const int res = finish();
        if (res < 0) return error{-res};
        return stx_;
    }

private:
    std::string path_;
    struct statx stx_ {};
};

class close_op : public uring::operation {
public:
    close_op(uring::uring_reactor& r, int fd) noexcept : operation(r) {
        io_uring_prep_close(sqe(), fd);
    }
    result<> await_resume() noexcept {
        const int res = finish();
        return res < 0 ? result<>{error{-res}} : result<>{};
    }
};

} // namespace coronet::fs::detail
