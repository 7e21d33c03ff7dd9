// Accepts on the host stack. A blocking listener keeps one multishot accept armed
// (IORING_ACCEPT_MULTISHOT, Linux 5.19): the kernel posts a completion for each connection
// it accepts, with no new submission per connection, and the descriptors wait in
// accepted_ until accept() takes them. A burst of connections costs one SQE instead of one
// per connection.
//
// Bounded: at accepted_bound descriptors waiting, the multishot is paused (cancelled) and
// further connections stay in the kernel's backlog, as they would with no accept posted;
// the next accept() that finds accepted_ empty arms it again. A kernel without multishot
// accept answers the first one with EINVAL: from then on each accept() is one accept_op.
#include "drivers/host/host_socket.hpp"

#include "framework/process/socket_timeouts.hpp"
#include "framework/uring/ops.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace coronet::host {

task<result<ref<socket_object>>> host_socket::accept() {
    // A blocking accept waits for accepted_, fed by the multishot accept, which the kernel
    // does not let carry a link: its receive timeout stays a timer of the scheduler's, here
    // when the socket serves its timeouts (the process layer's otherwise).
    auto fd = non_blocking_ ? accept_now()
                            : co_await socket_timeouts::within(
                                  serves_timeouts() ? timeouts.receive : duration::zero(), accept_multishot());
    if (!fd) co_return error{fd.error()};
    co_return ref<socket_object>(
        make_object<host_socket>(stack_, *fd, socket_type::stream));
}

result<int> host_socket::accept_now() {
    if (!accepted_.empty()) {
        const int fd = accepted_.front();
        accepted_.pop_front();
        return fd;
    }
    // An accept in the kernel takes whatever connection comes: none can be had here.
    if (accept_.in_flight() || accept_.queued() || single_accepts_ > 0) return error{EAGAIN};
    // The descriptor itself is blocking (io_uring waits for it), and accept4 has no
    // MSG_DONTWAIT: O_NONBLOCK for this one call. Nothing else accepts on it meanwhile.
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) return error{errno};
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    const int err = errno;
    (void)::fcntl(fd_, F_SETFL, flags);
    if (fd < 0) return error{err == EWOULDBLOCK ? EAGAIN : err};
    return fd;
}

task<result<int>> host_socket::accept_multishot() {
    for (;;) {
        if (closed_) co_return error{ECANCELED}; // woken by the close of the last handle
        if (!accepted_.empty()) {
            const int fd = accepted_.front();
            accepted_.pop_front();
            co_return fd;
        }
        if (!multishot_accept_) {
            busy b(*this);
            ++single_accepts_;
            auto r = co_await on_file(uring::accept_op(reactor_, fd_, SOCK_CLOEXEC));
            --single_accepts_;
            co_return r;
        }
        if (!accept_.in_flight() && !accept_.queued()) arm_accept();
        // An error that ends the multishot is for the calls waiting when it came, each of
        // them (EMFILE, a listener shut down, ECANCELED by close); a later call re-arms.
        const std::uint64_t ends = accept_ends_;
        if (auto w = co_await accept_waiters_.wait(); !w) co_return error{w.error()};
        if (accept_ends_ != ends && accepted_.empty() && multishot_accept_)
            co_return error{accept_error_};
    }
}

void host_socket::end_accept_on_close() noexcept {
    closed_ = true;
    accept_waiters_.wake_all();
    // Still in the reactor's queue, not in the kernel: no cancel would find it.
    if (reactor_.withdraw(accept_)) {
        if (reactor_.withdraw(accept_pause_)) accept_pausing_ = false;
        accept_went_idle(); // the handle table still holds a reference: this survives
    }
}

void host_socket::arm_accept() {
    io_uring_prep_multishot_accept(accept_.sqe(), fd_, nullptr, nullptr, SOCK_CLOEXEC);
    use_slot(*accept_.sqe());
    if (!accept_keepalive_) {
        accept_keepalive_ = ref<host_socket>(this);
        ++in_flight_; // for on_last_handle_closed: something of this socket is in the kernel
        ++lingering_;
    }
    reactor_.submit(accept_);
}

void host_socket::pause_accept() {
    if (accept_pausing_) return;
    accept_pausing_ = true;
    io_uring_prep_cancel64(accept_pause_.sqe(), accept_.user_data(), 0);
    accept_pause_.set_urgent(true);
    reactor_.submit(accept_pause_);
}

bool host_socket::accept_idle() const noexcept {
    return !accept_.in_flight() && !accept_.queued() && !accept_pause_.in_flight() &&
           !accept_pause_.queued();
}

void host_socket::accept_went_idle() noexcept {
    if (!accept_keepalive_ || !accept_idle()) return;
    --in_flight_;
    --lingering_;
    // Dropping the reference may destroy this socket: nothing touches it after.
    auto keep = std::move(accept_keepalive_);
}

void host_socket::accept_request::on_accept(uring::io_completion* c, int res, std::uint32_t flags) {
    host_socket& s = *static_cast<accept_request&>(*c).owner;
    const bool armed = (flags & IORING_CQE_F_MORE) != 0;
    if (res >= 0) {
        s.accepted_.push_back(res);
        if (armed && s.accepted_.size() >= accepted_bound) s.pause_accept();
        s.accept_waiters_.wake_one();
    } else if (res == -ECANCELED && s.accept_pausing_) {
        // Our own pause: not an error for anyone.
    } else if (res == -EINVAL && s.multishot_accept_) {
        // The kernel lacks multishot accept, or the socket does not listen (then the single
        // accept the waiters fall back to says EINVAL itself).
        s.multishot_accept_ = false;
    } else {
        ++s.accept_ends_;
        s.accept_error_ = -res;
    }
    if (!armed) {
        s.accept_pausing_ = s.accept_pause_.in_flight() || s.accept_pause_.queued();
        s.accept_waiters_.wake_all(); // to take what came, re-arm, or see the error
        s.accept_went_idle();
    }
}

void host_socket::accept_pause_request::on_pause(uring::io_completion* c, int, std::uint32_t) {
    host_socket& s = *static_cast<accept_pause_request&>(*c).owner;
    if (!s.accept_.in_flight() && !s.accept_.queued()) s.accept_pausing_ = false;
    s.accept_went_idle();
}

} // namespace coronet::host
