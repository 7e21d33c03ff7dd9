#pragma once
// Reading files without blocking the event loop.
//
//   auto f = co_await fs::open("/srv/www/index.html");       // result<fs::file>
//   auto st = co_await fs::stat(*f);                          // size, mtime, type
//   auto chunk = co_await fs::read(*f, pool, 0, 64 * 1024);  // a packet of pool buffers
//
// Where the work happens. With an io_uring reactor on the current scheduler (the native
// stack over TAP and the host stack both run on one) every call is a ring operation:
// IORING_OP_OPENAT, IORING_OP_STATX, IORING_OP_READ/READV, IORING_OP_CLOSE. The kernel
// completes a read from the page cache at once and hands one that must wait for the disk
// to an io-wq worker, so a slow disk holds that worker and the coroutine that asked,
// never the loop and the other connections. Without a reactor (the simulation world of
// protocols/sim runs on a virtual clock with no ring) each call is the plain system call,
// made synchronously: the coroutine does not suspend, and virtual time does not move.
// That keeps simulations deterministic; a file read there costs what the page cache
// costs, and a test that wants the ring's path attaches a reactor to the world's scheduler.
//
// Errors are the system calls' errno values: ENOENT, EACCES, ENOTDIR, ELOOP, EISDIR (a
// read of a directory), EBADF (a closed file), ENOBUFS (the pool is empty), ECANCELED
// (the awaiting coroutine was cancelled; a ring operation ends only once the kernel has
// let go of the buffer).
#include "framework/buffer/packet.hpp"
#include "framework/result.hpp"
#include "framework/task.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <sys/stat.h>
#include <utility>

namespace coronet::fs {

// What statx says of a file, the fields a cache needs to tell that it changed.
struct file_status {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0; // last modification, nanoseconds since the epoch
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    std::uint32_t mode = 0; // st_mode: file type and permission bits
    bool regular() const noexcept { return S_ISREG(mode); }
    bool directory() const noexcept { return S_ISDIR(mode); }
    friend bool operator==(const file_status&, const file_status&) = default;
};

// An open descriptor, owned: the destructor closes it (::close, which for a file opened
// only for reading does no I/O); fs::close() closes it through the ring instead.
class file {
public:
    file() noexcept = default;
    explicit file(int fd) noexcept : fd_(fd) {}
    file(file&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    file& operator=(file&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    file(const file&) = delete;
    file& operator=(const file&) = delete;
    ~file() { reset(); }

    int fd() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    // Gives up ownership: the caller closes the descriptor.
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset() noexcept;

private:
    int fd_ = -1;
};

// Opens `path` for reading. The open itself is non-blocking (O_NONBLOCK), so a FIFO put
// where a file was expected cannot hold it waiting for a writer; the flag is cleared once
// the descriptor exists, since io_uring would not hand a read of it to a worker on a file
// system without non-blocking read support, and would fail it with EAGAIN instead.
task<result<file>> open(std::string path);
// A directory to open files beneath (O_PATH: it can name files, not be read). Opened
// once, at a server's start: the error is open's (ENOENT, ENOTDIR, EACCES...).
result<file> open_directory(const std::string& path);
// Opens `relative` for reading as open() does, resolved inside `dir` and never outside it
// (openat2's RESOLVE_BENEATH): a "..", an absolute path or a symbolic link that would
// leave `dir` (absolute or climbing) fails with EXDEV, as do /proc's magic links; links
// that stay inside are followed. What a file server opens for a peer's path.
task<result<file>> open_beneath(const file& dir, std::string relative);
// statx of the file `path` names (symbolic links followed), or of an open file.
task<result<file_status>> stat(std::string path);
// statx of `relative` under `dir` (links followed: the metadata of a link's target, which
// open_beneath may still refuse to open).
task<result<file_status>> stat_at(const file& dir, std::string relative);
task<result<file_status>> stat(const file& f);
// One read of up to buf.size() bytes at `offset`: the count read, 0 at or past end of file.
// A regular file reads short only at its end.
task<result<std::size_t>> read(const file& f, std::span<std::byte> buf, std::uint64_t offset);
// Up to `max` bytes at `offset` into fresh buffers of `pool`, in one readv: a packet of
// those buffers, no copy (hand it to send_zc as it is). Fewer bytes at end of file (the
// buffers past it are given back), an empty packet at or past it. At most
// max_read_buffers buffers per call. ENOBUFS when the pool has no buffer or descriptor.
inline constexpr std::size_t max_read_buffers = 64;
task<result<packet>> read(const file& f, buffer_pool& pool, std::uint64_t offset, std::size_t max);
// Closes through the ring (the plain call without a reactor); the file is left closed
// whatever the result.
task<result<>> close(file& f);

} // namespace coronet::fs
