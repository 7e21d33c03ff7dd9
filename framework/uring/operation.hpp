#pragma once
// operation: the awaiter state of one io_uring operation, shared by every awaitable in
// ops.hpp. It is a waiter (so it resumes through the ready queue and hooks the awaiting
// coroutine's stop token) and an io_request (so its address is the SQE's user_data and
// its SQE waits inside it while the rings are full). Nothing is allocated per operation.
//
// Cancellation follows the rule that the kernel lets go first: the stop callback only
// submits IORING_OP_ASYNC_CANCEL for this operation, and the coroutine resumes once the
// original CQE has arrived (usually -ECANCELED; the real result if the operation won the
// race) and the cancel's own CQE too, since that one also names this awaiter. A request
// still waiting in the reactor's FIFO was never seen by the kernel: it is withdrawn and
// ends with ECANCELED at once.
//
// A zero-copy send posts two CQEs: its result, flagged IORING_CQE_F_MORE, and later a
// notification (IORING_CQE_F_NOTIF) once the kernel no longer reads the caller's pages. The
// coroutine resumes only after the second, so its buffers stay put until the kernel is done.
//
// A timeout in the kernel (set_timeout): the operation goes to the ring linked to an
// IORING_OP_LINK_TIMEOUT, and when the time passes first the kernel cancels the operation
// itself, with no timer of ours and no cancel to submit. Either way both post a CQE (the
// timeout's: -ETIME when it fired and cancelled the operation, -ECANCELED when the operation
// ended first, -EALREADY when it was too far along to cancel), and the coroutine resumes
// after both. A multishot operation cannot carry one (the kernel refuses the link).
#include "framework/clock.hpp"
#include "framework/uring/reactor.hpp"
#include "framework/waiter.hpp"

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace coronet::uring {

class operation : public waiter, public io_request {
public:
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        if (!begin(h)) return false;
        outstanding_ = timeout_ ? 2 : 1;
        reactor_.submit(*this);
        return true;
    }

    // Bounds the operation by `d` (0 or less: it fails at once unless it can complete
    // without waiting), timed by the kernel: once it has passed, the kernel cancels the
    // operation, which then gives ETIME, or what it had done by then (the bytes a send had
    // taken). Call before the co_await, once.
    void set_timeout(duration d) noexcept {
        timeout_.emplace(*this, d);
        link(&*timeout_);
    }
    // The linked timeout fired and cancelled the operation.
    bool timed_out() const noexcept { return timeout_ && timeout_->res == -ETIME; }

protected:
    explicit operation(uring_reactor& r) noexcept : waiter(&on_stop), io_request(&on_cqe), reactor_(r), cancel_(*this) {}

    // To call from await_resume: the CQE's result, >= 0 or -errno (-ECANCELED when the
    // stop token ended the wait before the kernel saw the operation).
    // -ETIME when the linked timeout cancelled it and it had done nothing.
    int finish() noexcept {
        int w = end();
        if (w != 0) return -w;
        // EINTR: an operation already running in an io-wq worker is interrupted, not removed.
        if (timed_out() && (res_ == -ECANCELED || res_ == -EINTR)) return -ETIME;
        return res_;
    }
    std::uint32_t cqe_flags() const noexcept { return flags_; }
    // The res of a zero-copy send's notification CQE (IORING_NOTIF_USAGE_ZC_COPIED when the
    // kernel copied after all); 0 when none came.
    std::uint32_t notification() const noexcept { return notification_; }
    uring_reactor& reactor() noexcept { return reactor_; }

private:
    struct cancel_request : io_request {
        explicit cancel_request(operation& o) noexcept : io_request(&on_cancel_cqe), owner(o) { set_urgent(true); }
        static void on_cancel_cqe(io_completion* c, int, std::uint32_t) {
            static_cast<cancel_request&>(*c).owner.release_one();
        }
        operation& owner;
    };

    struct linked_timeout : io_request {
        linked_timeout(operation& o, duration d) noexcept : io_request(&on_timeout_cqe), owner(o) {
            const auto ns = std::max(d.count(), std::int64_t{0});
            ts.tv_sec = ns / 1'000'000'000;
            ts.tv_nsec = ns % 1'000'000'000;
            io_uring_prep_link_timeout(sqe(), &ts, 0);
        }
        static void on_timeout_cqe(io_completion* c, int r, std::uint32_t) {
            auto& self = static_cast<linked_timeout&>(*c);
            self.res = r;
            self.owner.release_one();
        }
        operation& owner;
        __kernel_timespec ts{}; // the kernel reads it at submission
        int res = 0;
    };

    static void on_cqe(io_completion* c, int res, std::uint32_t flags) {
        // A reference cast: io_completion is not the first base, and a pointer cast would
        // carry a null check (and g++'s -Wnull-dereference with it).
        auto& self = static_cast<operation&>(*c);
        if (flags & IORING_CQE_F_NOTIF) { // a zero-copy send's second CQE: the buffers are free
            self.notification_ = static_cast<std::uint32_t>(res);
            self.release_one();
            return;
        }
        self.res_ = res;
        self.flags_ = flags;
        // A zero-copy send's result: its notification follows, and the awaiter waits for it
        // (the reactor counts the operation in flight until then too).
        if (flags & IORING_CQE_F_MORE) ++self.outstanding_;
        // A cancel still waiting for room has nothing left to cancel.
        if (self.reactor_.withdraw(self.cancel_)) --self.outstanding_;
        self.release_one();
    }

    static void on_stop(waiter* w) {
        auto& self = static_cast<operation&>(*w);
        if (self.reactor_.withdraw(self)) { // its linked timeout waited with it, unseen too
            self.res_ = -ECANCELED;
            self.outstanding_ = 1;
            self.release_one();
            return;
        }
        io_uring_prep_cancel64(self.cancel_.sqe(), self.user_data(), 0);
        ++self.outstanding_; // before submit: a full ring may reap our CQEs right there
        self.cancel_.set_background(self.io_request::background());
        self.reactor_.submit(self.cancel_);
    }

    void release_one() noexcept {
        if (--outstanding_ == 0) complete(0);
    }

    uring_reactor& reactor_;
    cancel_request cancel_;
    int res_ = 0;
    std::uint32_t flags_ = 0;
    std::uint32_t notification_ = 0;
    unsigned outstanding_ = 0; // CQEs still to come that name this awaiter or its timeout
    std::optional<linked_timeout> timeout_;
};

// co_await in_place(op): awaits an operation declared as a named variable (so that another
// coroutine can name it, to cancel it say). g++ 12 wants to copy an awaiter that is an
// lvalue, and operations cannot be copied: their address is their identity in the ring.
template <class Op>
    requires std::is_base_of_v<operation, Op>
struct in_place {
    Op& op;
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return op.await_suspend(h);
    }
    decltype(auto) await_resume() noexcept { return op.await_resume(); }
};
// Spelled out for clang 14, which does not deduce an aggregate's arguments by itself.
template <class Op>
in_place(Op&) -> in_place<Op>;

// co_await background(read(fd, buf)): the operation does not count in the reactor's
// pending(), so a virtual clock may jump while it waits (a read that may never end).
template <class Op>
    requires std::is_base_of_v<operation, std::remove_cvref_t<Op>>
in_place<std::remove_reference_t<Op>> background(Op&& op) noexcept {
    op.set_background(true);
    return {op};
}

} // namespace coronet::uring
