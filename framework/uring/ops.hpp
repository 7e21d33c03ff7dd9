#pragma once
// The io_uring system calls as awaitables, on the reactor of the current scheduler:
//   auto n = co_await uring::read(fd, buf);        // result<std::size_t>
// Each returns result<...> with the errno meaning of the system call it stands for, and
// each is cancelled through the awaiting coroutine's stop token (see operation.hpp: the
// coroutine resumes only once the kernel has let go of the buffers). Buffers, iovec
// arrays and addresses passed in must stay valid until the co_await returns, as they do
// when they live in the awaiting coroutine.
#include "framework/result.hpp"
#include "framework/uring/buffer_ring.hpp"
#include "framework/uring/operation.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <sys/socket.h>
#include <sys/uio.h>

namespace coronet::uring {

// Offset meaning "the file's current position" (and the only one a pipe or socket takes).
inline constexpr std::uint64_t current_position = ~std::uint64_t{0};

namespace detail {
inline unsigned clamp_size(std::size_t n) noexcept {
    return static_cast<unsigned>(std::min<std::size_t>(n, UINT32_MAX));
}
inline result<> void_result(int res) { return res < 0 ? result<>{error{-res}} : result<>{}; }
inline result<std::size_t> size_result(int res) {
    return res < 0 ? result<std::size_t>{error{-res}} : result<std::size_t>{static_cast<std::size_t>(res)};
}
} // namespace detail

// Does nothing in the kernel: the round trip through the rings, for tests and benchmarks.
class nop_op : public operation {
public:
    explicit nop_op(uring_reactor& r) noexcept : operation(r) { io_uring_prep_nop(sqe()); }
    result<> await_resume() noexcept { return detail::void_result(finish()); }
};

// read/write/recv/send: the byte count transferred (0 from read/recv is end of stream).
class transfer_op : public operation {
public:
    result<std::size_t> await_resume() noexcept { return detail::size_result(finish()); }

protected:
    using operation::operation;
};

class read_op : public transfer_op {
public:
    read_op(uring_reactor& r, int fd, std::span<std::byte> buf, std::uint64_t offset) noexcept : transfer_op(r) {
        io_uring_prep_read(sqe(), fd, buf.data(), detail::clamp_size(buf.size()), offset);
    }
};

class write_op : public transfer_op {
public:
    write_op(uring_reactor& r, int fd, std::span<const std::byte> buf, std::uint64_t offset) noexcept
        : transfer_op(r) {
        io_uring_prep_write(sqe(), fd, buf.data(), detail::clamp_size(buf.size()), offset);
    }
};

class readv_op : public transfer_op {
public:
    readv_op(uring_reactor& r, int fd, std::span<const iovec> iov, std::uint64_t offset) noexcept : transfer_op(r) {
        io_uring_prep_readv(sqe(), fd, iov.data(), detail::clamp_size(iov.size()), offset);
    }
};

class writev_op : public transfer_op {
public:
    writev_op(uring_reactor& r, int fd, std::span<const iovec> iov, std::uint64_t offset) noexcept : transfer_op(r) {
        io_uring_prep_writev(sqe(), fd, iov.data(), detail::clamp_size(iov.size()), offset);
    }
};

class recv_op : public transfer_op {
public:
    recv_op(uring_reactor& r, int fd, std::span<std::byte> buf, int flags) noexcept : transfer_op(r) {
        io_uring_prep_recv(sqe(), fd, buf.data(), buf.size(), flags);
    }
};

class send_op : public transfer_op {
public:
    send_op(uring_reactor& r, int fd, std::span<const std::byte> buf, int flags) noexcept : transfer_op(r) {
        io_uring_prep_send(sqe(), fd, buf.data(), buf.size(), flags);
    }
};

// Zero-copy send (IORING_OP_SEND_ZC, SENDMSG_ZC): the kernel sends from the caller's pages
// instead of copying them, and the co_await returns only once it has let go of them (the
// notification CQE: see operation.hpp), so the buffers may be reused at once after it.
// copied() says whether the kernel copied after all (a peer on this host: the loopback and
// a veth deliver locally, and local delivery copies).
class zero_copy_op : public transfer_op {
public:
    bool copied() const noexcept { return (notification() & IORING_NOTIF_USAGE_ZC_COPIED) != 0; }

protected:
    using transfer_op::transfer_op;
};

class send_zc_op : public zero_copy_op {
public:
    send_zc_op(uring_reactor& r, int fd, std::span<const std::byte> buf, int flags) noexcept : zero_copy_op(r) {
        io_uring_prep_send_zc(sqe(), fd, buf.data(), buf.size(), flags, IORING_SEND_ZC_REPORT_USAGE);
    }
};

// The iovecs of `msg` must stay valid until the co_await returns.
class sendmsg_zc_op : public zero_copy_op {
public:
    sendmsg_zc_op(uring_reactor& r, int fd, const msghdr& msg, int flags) noexcept : zero_copy_op(r) {
        io_uring_prep_sendmsg_zc(sqe(), fd, &msg, static_cast<unsigned>(flags));
        sqe()->ioprio = IORING_SEND_ZC_REPORT_USAGE;
    }
};

// The connected socket's descriptor.
class accept_op : public operation {
public:
    accept_op(uring_reactor& r, int fd, int flags) noexcept : operation(r) {
        io_uring_prep_accept(sqe(), fd, nullptr, nullptr, flags);
    }
    result<int> await_resume() noexcept {
        int res = finish();
        return res < 0 ? result<int>{error{-res}} : result<int>{res};
    }
};

class connect_op : public operation {
public:
    // The address is copied into the awaiter: the caller's may go away before submission.
    connect_op(uring_reactor& r, int fd, const sockaddr* addr, socklen_t len) noexcept : operation(r) {
        len_ = std::min<socklen_t>(len, sizeof addr_);
        std::memcpy(&addr_, addr, len_);
        io_uring_prep_connect(sqe(), fd, reinterpret_cast<const sockaddr*>(&addr_), len_);
    }
    result<> await_resume() noexcept { return detail::void_result(finish()); }

private:
    sockaddr_storage addr_{};
    socklen_t len_;
};

// recvmsg/sendmsg for datagram sockets: the byte count, with the peer's address in the
// awaiter (recvmsg fills it; sendmsg copies the caller's in, so it may go away at once).
// MSG_TRUNC in msg_flags after a recvmsg says the datagram was longer than the buffer.
struct received_message {
    std::size_t size = 0;
    sockaddr_storage peer{};
    bool truncated = false; // the datagram was longer than the buffer (MSG_TRUNC)
};

class recvmsg_op : public operation {
public:
    recvmsg_op(uring_reactor& r, int fd, std::span<std::byte> buf, int flags) noexcept : operation(r) {
        iov_.iov_base = buf.data();
        iov_.iov_len = buf.size();
        msg_.msg_name = &addr_;
        msg_.msg_namelen = sizeof addr_;
        msg_.msg_iov = &iov_;
        msg_.msg_iovlen = 1;
        io_uring_prep_recvmsg(sqe(), fd, &msg_, static_cast<unsigned>(flags));
    }
    result<received_message> await_resume() noexcept {
        int res = finish();
        if (res < 0) return error{-res};
        return received_message{static_cast<std::size_t>(res), addr_, (msg_.msg_flags & MSG_TRUNC) != 0};
    }

private:
    sockaddr_storage addr_{};
    iovec iov_{};
    msghdr msg_{};
};

class sendmsg_op : public transfer_op {
public:
    sendmsg_op(uring_reactor& r, int fd, std::span<const std::byte> buf, const sockaddr* to, socklen_t len,
               int flags) noexcept
        : transfer_op(r) {
        iov_.iov_base = const_cast<std::byte*>(buf.data()); // sendmsg only reads it
        iov_.iov_len = buf.size();
        if (to) {
            std::memcpy(&addr_, to, std::min<socklen_t>(len, sizeof addr_));
            msg_.msg_name = &addr_;
            msg_.msg_namelen = std::min<socklen_t>(len, sizeof addr_);
        }
        msg_.msg_iov = &iov_;
        msg_.msg_iovlen = 1;
        io_uring_prep_sendmsg(sqe(), fd, &msg_, static_cast<unsigned>(flags));
    }

private:
    sockaddr_storage addr_{};
    iovec iov_{};
    msghdr msg_{};
};

// Cancels every operation in flight on `fd` (closing a descriptor does not end a pending
// io_uring operation on it: the operation holds the file). Succeeds with the count.
class cancel_fd_op : public operation {
public:
    cancel_fd_op(uring_reactor& r, int fd) noexcept : operation(r) {
        io_uring_prep_cancel_fd(sqe(), fd, IORING_ASYNC_CANCEL_ALL);
        set_urgent(true);
    }
    result<std::size_t> await_resume() noexcept {
        int res = finish();
        return detail::size_result(res == -ENOENT ? 0 : res);
    }
};

// An io_uring timeout (real time, in the kernel): success when it expires.
class timeout_op : public operation {
public:
    timeout_op(uring_reactor& r, duration d) noexcept : operation(r) {
        auto ns = std::max(d.count(), std::int64_t{0});
        ts_.tv_sec = ns / 1'000'000'000;
        ts_.tv_nsec = ns % 1'000'000'000;
        io_uring_prep_timeout(sqe(), &ts_, 0, 0);
    }
    result<> await_resume() noexcept {
        int res = finish();
        return detail::void_result(res == -ETIME ? 0 : res);
    }

private:
    __kernel_timespec ts_{};
};

// Asks the kernel to cancel the operation named by `target` (an io_completion's
// user_data). ENOENT: no such operation in flight; EALREADY: it is running and may
// still complete. The target itself ends with its own completion.
class cancel_op : public operation {
public:
    cancel_op(uring_reactor& r, std::uint64_t target) noexcept : operation(r) {
        io_uring_prep_cancel64(sqe(), target, 0);
        set_urgent(true);
    }
    result<> await_resume() noexcept { return detail::void_result(finish()); }
};

// A read or receive into whichever buffer of `ring` the kernel picks when data arrives.
// The buffer then belongs to the caller until ring.recycle(id). ENOBUFS when none is posted
// (nothing is consumed: the data stays in the file or socket).
class selected_op : public operation {
public:
    result<selected_buffer> await_resume() noexcept {
        int res = finish();
        auto id = provided_buffer_ring::buffer_id(cqe_flags());
        if (res < 0) {
            if (id) ring_.recycle(*id); // not expected from the kernel, but never leak one
            return error{-res};
        }
        // End of file consumes no buffer; report it as an empty one the caller need
        // not recycle (recycling a posted buffer again would post it twice).
        if (!id) return selected_buffer{};
        return selected_buffer{*id, static_cast<std::uint32_t>(res)};
    }

protected:
    selected_op(uring_reactor& r, provided_buffer_ring& ring) noexcept : operation(r), ring_(ring) {}
    void select_from_ring() noexcept {
        sqe()->flags |= IOSQE_BUFFER_SELECT;
        sqe()->buf_group = ring_.group();
    }

private:
    provided_buffer_ring& ring_;
};

class read_selected_op : public selected_op {
public:
    read_selected_op(uring_reactor& r, int fd, provided_buffer_ring& ring, std::uint64_t offset) noexcept
        : selected_op(r, ring) {
        io_uring_prep_read(sqe(), fd, nullptr, detail::clamp_size(ring.buffer_size()), offset);
        select_from_ring();
    }
};

// recv(2) into a buffer of `ring`, of at most `max` bytes (0 or more than a buffer: a
// whole buffer).
class recv_selected_op : public selected_op {
public:
    recv_selected_op(uring_reactor& r, int fd, provided_buffer_ring& ring, std::size_t max, int flags) noexcept
        : selected_op(r, ring) {
        const std::size_t len = max == 0 || max > ring.buffer_size() ? ring.buffer_size() : max;
        io_uring_prep_recv(sqe(), fd, nullptr, detail::clamp_size(len), flags);
        select_from_ring();
    }
};

inline nop_op nop() { return nop_op{uring_reactor::current()}; }
inline read_op read(int fd, std::span<std::byte> buf, std::uint64_t offset = current_position) {
    return read_op{uring_reactor::current(), fd, buf, offset};
}
inline write_op write(int fd, std::span<const std::byte> buf, std::uint64_t offset = current_position) {
    return write_op{uring_reactor::current(), fd, buf, offset};
}
inline readv_op readv(int fd, std::span<const iovec> iov, std::uint64_t offset = current_position) {
    return readv_op{uring_reactor::current(), fd, iov, offset};
}
inline writev_op writev(int fd, std::span<const iovec> iov, std::uint64_t offset = current_position) {
    return writev_op{uring_reactor::current(), fd, iov, offset};
}
inline recv_op recv(int fd, std::span<std::byte> buf, int flags = 0) {
    return recv_op{uring_reactor::current(), fd, buf, flags};
}
inline send_op send(int fd, std::span<const std::byte> buf, int flags = MSG_NOSIGNAL) {
    return send_op{uring_reactor::current(), fd, buf, flags};
}
inline accept_op accept(int fd, int flags = SOCK_CLOEXEC) { return accept_op{uring_reactor::current(), fd, flags}; }
inline connect_op connect(int fd, const sockaddr* addr, socklen_t len) {
    return connect_op{uring_reactor::current(), fd, addr, len};
}
inline recvmsg_op recvmsg(int fd, std::span<std::byte> buf, int flags = 0) {
    return recvmsg_op{uring_reactor::current(), fd, buf, flags};
}
inline sendmsg_op sendmsg(int fd, std::span<const std::byte> buf, const sockaddr* to, socklen_t len,
                          int flags = MSG_NOSIGNAL) {
    return sendmsg_op{uring_reactor::current(), fd, buf, to, len, flags};
}
inline cancel_fd_op cancel_fd(int fd) { return cancel_fd_op{uring_reactor::current(), fd}; }
inline timeout_op timeout(duration d) { return timeout_op{uring_reactor::current(), d}; }
inline cancel_op cancel(std::uint64_t target) { return cancel_op{uring_reactor::current(), target}; }
inline cancel_op cancel(const io_completion& target) { return cancel(target.user_data()); }
inline read_selected_op read_selected(int fd, provided_buffer_ring& ring, std::uint64_t offset = current_position) {
    return read_selected_op{uring_reactor::current(), fd, ring, offset};
}

} // namespace coronet::uring
