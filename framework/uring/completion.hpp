#pragma once
// How a completion finds its owner. The user_data of every SQE the reactor submits is the
// address of an io_completion, and the reactor calls its on_cqe for each CQE. There is no
// table of operations and no allocation per operation: the object lives wherever its
// owner lives (an awaiter in a coroutine frame, a NIC driver), and must stay there until
// its last completion (a multishot operation gets one per CQE, the last without
// IORING_CQE_F_MORE).
//
// An io_request adds the SQE itself, prepared by the owner and copied into the ring by the
// reactor, so a request that finds the ring full can wait in the reactor's FIFO, intact,
// until there is room. A request may carry a second one linked behind it (IOSQE_IO_LINK):
// the reactor submits the two adjacently, in one submission, and counts both in flight.
#include <boost/intrusive/list_hook.hpp>
#include <cstdint>
#include <liburing.h>
#include <new>

namespace coronet::uring {

class uring_reactor;

class io_completion {
public:
    using handler = void (*)(io_completion* self, int res, std::uint32_t flags);

    explicit io_completion(handler on_cqe) noexcept : on_cqe_(on_cqe) {}
    io_completion(const io_completion&) = delete;
    io_completion& operator=(const io_completion&) = delete;

    // A background operation does not count in the reactor's pending(): it may never end
    // on its own (a NIC's standing receive, a read on a TAP device), so it must not stop a
    // virtual clock from jumping. Takes effect at the next submission.
    void set_background(bool on) noexcept { background_ = on; }
    bool background() const noexcept { return background_; }
    // Submitted to the kernel and its last completion not yet handled.
    bool in_flight() const noexcept { return in_flight_; }

    // The user_data that names this object in the ring (for IORING_OP_ASYNC_CANCEL).
    std::uint64_t user_data() const noexcept { return reinterpret_cast<std::uintptr_t>(this); }

private:
    friend class uring_reactor;
    handler on_cqe_;
    bool background_ = false;
    bool in_flight_ = false;
    bool counted_ = false; // counted in pending() when submitted
};

class io_request : public io_completion,
                   public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    explicit io_request(handler on_cqe) noexcept : io_completion(on_cqe) { ::new (sqe_) io_uring_sqe{}; }

    // Waiting in the reactor's FIFO for room in the rings (not yet seen by the kernel).
    bool queued() const noexcept { return is_linked(); }
    // A request that frees room rather than taking it (an async cancel) may use a reserve
    // of completion slots that ordinary requests cannot, and goes first when queued: no
    // cancel ever waits behind the operations it is meant to end.
    void set_urgent(bool on) noexcept { urgent_ = on; }
    bool urgent() const noexcept { return urgent_; }

    // `next` goes into the ring right behind this request, linked to it (an
    // IORING_OP_LINK_TIMEOUT, say); null for none. It waits in the FIFO with this one, is
    // counted in pending() if this one is, and completes with its own CQE. Takes effect at
    // the next submission.
    void link(io_request* next) noexcept { linked_ = next; }
    io_request* linked() const noexcept { return linked_; }

    // Prepared by the owner with the io_uring_prep_* helpers; the reactor sets user_data.
    io_uring_sqe* sqe() noexcept { return std::launder(reinterpret_cast<io_uring_sqe*>(sqe_)); }
    const io_uring_sqe* sqe() const noexcept { return std::launder(reinterpret_cast<const io_uring_sqe*>(sqe_)); }

private:
    // Raw storage: io_uring_sqe ends in a zero-length array, which ISO C++ does not allow
    // as a member, so the SQE is a separate object created in these bytes.
    alignas(io_uring_sqe) unsigned char sqe_[sizeof(io_uring_sqe)];
    io_request* linked_ = nullptr;
    bool urgent_ = false;
};

} // namespace coronet::uring
