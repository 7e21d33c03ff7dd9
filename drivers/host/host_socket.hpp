#pragma once
// host_socket: one Linux socket behind a coronet handle. See host_stack.hpp.
#include "drivers/host/host_stack.hpp"
#include "drivers/host/send_turn.hpp"
#include "framework/process/socket.hpp"
#include "framework/uring/operation.hpp"
#include "framework/uring/reactor.hpp"
#include "framework/wait_queue.hpp"

#include <cerrno>
#include <deque>
#include <optional>
#include <type_traits>
#include <utility>

namespace coronet::host {

class host_socket final : public socket_object {
public:
    host_socket(host_stack& stack, int fd, socket_type type) noexcept;
    ~host_socket() override;

    int fd() const noexcept { return fd_; }
    // One accept operation per accept() call instead of a multishot (host_options).
    void use_single_accepts() noexcept { multishot_accept_ = false; }

    result<> bind(const endpoint& local) override;
    result<> listen(int backlog) override;
    // A blocking accept takes a descriptor that a multishot accept has already taken from
    // the kernel (see host_socket_accept.cpp); a non-blocking one takes those first too.
    task<result<ref<socket_object>>> accept() override;
    task<result<>> connect(const endpoint& remote) override;
    task<result<std::size_t>> read(std::span<std::byte> buffer) override;
    // A blocking write sends all of `bytes` before the socket's next write starts (one
    // sendmsg in the kernel at a time, writers served in the order they called: see
    // send_turn.hpp); fewer only when an error, a timeout or a close cut it short. A
    // non-blocking one is EAGAIN while another write holds or waits for the turn.
    task<result<std::size_t>> write(std::span<const std::byte> bytes) override;
    // recv_zc lends one buffer of the stack's receive ring (receive_buffers.hpp) that the
    // kernel filled: at most min(max, buffer size) bytes, no copy of ours. read copies
    // straight into the caller's span instead (the kernel's one copy). Datagram sockets:
    // EOPNOTSUPP. When callers hold every ring buffer, a blocking call waits for one to
    // come back and a non-blocking one fails with ENOBUFS.
    task<result<packet>> recv_zc(std::size_t max) override;
    // send_zc: one sendmsg of up to 64 slices at a time, in the write turn as write, the
    // bytes sent taken off `data`. The kernel copies them, unless a sendmsg carries at least
    // host_options::zero_copy_threshold bytes: then it goes as IORING_OP_SENDMSG_ZC, and
    // the call resumes only after the kernel's notification that it let go of the pages.
    // write's sends follow the same threshold (IORING_OP_SEND_ZC).
    task<result<std::size_t>> send_zc(packet& data) override;
    task<result<std::size_t>> send_to(std::span<const std::byte> bytes,
                                      const endpoint& to) override;
    task<result<datagram_info>> recv_from(std::span<std::byte> buffer) override;
    result<> shutdown(shutdown_how how) override;
    result<endpoint> local_endpoint() const override;
    result<endpoint> peer_endpoint() const override;
    result<> set_option(socket_option opt, std::int64_t value) override;
    result<std::int64_t> get_option(socket_option opt) const override;
    // The socket's receive and send timeouts (socket_timeouts.hpp), when the stack has the
    // kernel time them (host_options::linked_timeouts): a bounded call's deadline is taken
    // when it starts, and each of its io_uring operations goes linked to a timeout of the
    // time left, so the kernel ends it (ECANCELED, the bytes a send had taken) once the
    // deadline passes; the call then gives EAGAIN, or its partial count. The waits of its own
    // that a call may have (for the write turn, for a ring buffer to come back, and accept's
    // for the multishot accept, which cannot carry a link) are bounded by a timer of the
    // scheduler's instead. The kernel's timer runs on real time, whatever the scheduler's
    // clock.
    bool serves_timeouts() const noexcept override { return stack_.linked_timeouts_; }
    // getsockopt(TCP_INFO) (host_tcp_info.cpp); EOPNOTSUPP for a datagram socket.
    result<tcp_info> connection_info() const override;
    // Its row of the socket table (host_socket_row.cpp); none once closed, or while neither
    // bound nor connected (ss does not list those either).
    std::optional<socket_row> row() const;

protected:
    void on_last_handle_closed() noexcept override;

private:
    // How many accepted descriptors may wait here for accept() before the multishot accept
    // is paused (the rest wait in the kernel's backlog, as without it).
    static constexpr std::size_t accepted_bound = 64;

    // Counts the socket's io_uring operations in flight, so a close knows whether any
    // needs cancelling.
    struct busy {
        explicit busy(host_socket& s) noexcept : s_(s) { ++s_.in_flight_; }
        ~busy() { --s_.in_flight_; }
        busy(const busy&) = delete;
        busy& operator=(const busy&) = delete;

    private:
        host_socket& s_;
    };

    // co_await on_file(op): the operation names the socket's fixed-file slot instead of its
    // descriptor when it has one (host_options::registered_files).
    template <class Op>
    uring::in_place<std::remove_reference_t<Op>> on_file(Op&& op) noexcept {
        use_slot(*op.sqe());
        return {op};
    }
    // co_await on_file(op, until): the same, and linked to a timeout of the time left
    // until `until`, if there is one (passed already: the kernel still tries it once).
    template <class Op>
    uring::in_place<std::remove_reference_t<Op>> on_file(Op&& op, std::optional<time_point> until) noexcept {
        if (until) {
            op.set_timeout(*until - reactor_.owner().now());
            stack_.count_linked_timeout();
        }
        return on_file(std::forward<Op>(op));
    }
    // When a call bounded by `limit` (one of timeouts) must end, on the scheduler's clock;
    // none for no timeout, a non-blocking socket, or timeouts left to the process layer.
    std::optional<time_point> deadline(duration limit) const noexcept {
        if (limit <= duration::zero() || non_blocking_ || !serves_timeouts()) return std::nullopt;
        return reactor_.owner().now() + limit;
    }
    // The error a call gives for `err` from an operation: EAGAIN for ETIME, an operation its
    // linked timeout ended with nothing done (a socket timeout's error, not ETIMEDOUT).
    int timeout_error(int err) noexcept {
        if (err != ETIME) return err;
        stack_.count_expired();
        return EAGAIN;
    }
    task<result<>> wait_for_send_turn(std::optional<time_point> until);
    void use_slot(io_uring_sqe& sqe) const noexcept {
        if (slot_ < 0) return;
        sqe.fd = slot_;
        sqe.flags |= IOSQE_FIXED_FILE;
    }

    host_stack& stack_;
    socket_link link_{this}; // on stack_.sockets_ for as long as the socket exists
    uring::uring_reactor& reactor_;
    unsigned& lingering_; // the stack's count of sockets kept alive for the kernel
    int fd_;
    int slot_; // in the ring's fixed file table, -1 for none
    socket_type type_;
    bool non_blocking_ = false;
    unsigned in_flight_ = 0;
    // The cancel-everything request submitted at close, and the reference that keeps this
    // socket alive until its completion has come back.
    struct cancel_request final : uring::io_request {
        explicit cancel_request(host_socket* s) noexcept : io_request(&on_done), owner(s) {}
        static void on_done(uring::io_completion* c, int res, std::uint32_t flags);
        host_socket* owner;
    } cancel_all_;
    ref<host_socket> cancel_keepalive_;

    // The multishot accept of a blocking listener: armed by accept() when nothing waits in
    // accepted_, paused (cancelled) when accepted_bound descriptors wait, ended by close.
    struct accept_request final : uring::io_request {
        explicit accept_request(host_socket* s) noexcept : io_request(&on_accept), owner(s) {}
        static void on_accept(uring::io_completion* c, int res, std::uint32_t flags);
        host_socket* owner;
    } accept_;
    struct accept_pause_request final : uring::io_request { // a cancel of accept_
        explicit accept_pause_request(host_socket* s) noexcept : io_request(&on_pause), owner(s) {}
        static void on_pause(uring::io_completion* c, int res, std::uint32_t flags);
        host_socket* owner;
    } accept_pause_;
    void arm_accept();
    void end_accept_on_close() noexcept;
    void pause_accept();
    bool accept_idle() const noexcept;
    void accept_went_idle() noexcept; // drops accept_keepalive_: may destroy this
    task<result<int>> accept_multishot();
    result<int> accept_now();           // non-blocking: EAGAIN rather than wait
    ref<host_socket> accept_keepalive_; // the kernel may complete into accept_
    std::deque<int> accepted_;          // taken from the kernel, not yet by accept()
    wait_queue accept_waiters_;
    send_turn sends_; // write and send_zc, one at a time, in order
    std::uint64_t accept_ends_ = 0; // how often the multishot ended with an error
    int accept_error_ = 0;          // the error it last ended with
    bool accept_pausing_ = false;
    unsigned single_accepts_ = 0;  // accept_ops in flight (a kernel without multishot)
    bool closed_ = false;          // the last handle is closed
    bool waits_for_buffer_ = false; // a recv_zc waits for the ring (closing wakes it)
    bool multishot_accept_ = true; // false once the kernel refused one (EINVAL): single accepts
};

} // namespace coronet::host
