#pragma once
// standing_read: a read that stays posted on a descriptor and hands each chunk of data to
// a handler in a buffer of a provided-buffer ring: a NIC's receive path over a TAP
// device. With a kernel that has IORING_OP_READ_MULTISHOT (6.7) it is one multishot read
// whose CQEs all come to this object; otherwise it falls back to single reads with buffer
// selection, re-armed from each completion before the handler runs. Either way the
// handler sees the same thing: each chunk with more=true while the read stays posted, and
// a last call with more=false when it ends (an error such as ENOBUFS with no buffer
// posted, ECANCELED after stop(), or end of file); start() may then re-arm it, even from
// within the handler.
//
// Usually marked background: a read on a TAP device may wait forever and must not hold
// back a virtual clock.
#include "framework/result.hpp"
#include "framework/uring/buffer_ring.hpp"

namespace coronet::uring {

class standing_read {
public:
    // res: the buffer filled (size 0 at end of file, no buffer owned) or the errno.
    using handler = void (*)(standing_read& self, result<selected_buffer> res, bool more);

    standing_read(uring_reactor& reactor, int fd, provided_buffer_ring& ring, handler on_data,
                  void* context = nullptr) noexcept;
    standing_read(const standing_read&) = delete;
    standing_read& operator=(const standing_read&) = delete;
    // Must be idle(): the kernel may not hold a reference to this object.
    ~standing_read();

    void set_background(bool on) noexcept;
    // Chooses single reads even where the kernel has multishot read (tests, comparisons).
    void prefer_multishot(bool on) noexcept { multishot_ = on && reactor_.supports_multishot_read(); }
    bool multishot() const noexcept { return multishot_; }

    // Arms the read. Does nothing if it is armed already.
    void start();
    // Asks the kernel to end the read; the handler then gets the last call (more=false).
    void stop();
    // Armed: the handler will be called again.
    bool active() const noexcept { return active_; }
    // Nothing of this object is in the kernel or queued: it may be destroyed.
    bool idle() const noexcept;
    void* context() const noexcept { return context_; }

private:
    struct read_request : io_request {
        explicit read_request(standing_read& o) noexcept : io_request(&on_read_cqe), owner(o) {}
        standing_read& owner;
    };
    static void on_read_cqe(io_completion* c, int res, std::uint32_t flags);
    static void on_cancel_cqe(io_completion*, int, std::uint32_t) noexcept {}
    void arm();

    uring_reactor& reactor_;
    provided_buffer_ring& ring_;
    handler on_data_;
    void* context_;
    read_request read_;
    io_request cancel_;
    int fd_;
    bool multishot_;
    bool active_ = false;
    bool stopping_ = false;
};

} // namespace coronet::uring
