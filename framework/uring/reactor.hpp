#pragma once
// uring_reactor: the io_uring under one core's scheduler (io_backend). One ring per
// scheduler, used only from that scheduler's thread, so the ring is set up for a single
// issuer with deferred task work: the kernel runs completion work only when this thread
// enters the ring, never by interrupting it. The price is that completions appear only
// when the ring is entered, so poll() enters it whenever the kernel flags work waiting.
//
// Completion-queue overflow guard: the CQ is sized larger than the SQ and never more
// operations are in flight than it can hold, so single-shot completions cannot overflow
// it. Requests beyond the limit wait in an intrusive FIFO (no failure, no allocation) and
// are submitted as completions free slots. Multishot operations can still post more CQEs
// than the limit assumes; the kernel then keeps them on its overflow list and raises
// IORING_SQ_CQ_OVERFLOW, which poll() notices and flushes.
#include "framework/io_backend.hpp"
#include "framework/scheduler.hpp"
#include "framework/uring/completion.hpp"
#include "framework/uring/shims.hpp"

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <memory>
#include <optional>

namespace coronet::uring {

struct reactor_options {
    unsigned sq_entries = 256;
    // 0: default_cq_entries (the kernel clamps it to what it allows). Every operation that
    // waits on a peer (a receive on an idle connection, an accept) holds a CQ slot while it
    // waits, so the CQ bounds how many connections a host-stack server can serve at once:
    // with 1,024 entries, 768 idle clients were enough to lock everyone else out.
    unsigned cq_entries = 0;
    // Setup flags to treat as refused by the kernel (EINVAL), as an older kernel would:
    // lets a test take the fallback path on a kernel that accepts everything.
    unsigned refuse_flags = 0;
};

// 32,768 CQEs of 16 bytes: 512 KiB a ring, room for 32,512 operations in flight.
inline constexpr unsigned default_cq_entries = 32768;

struct reactor_stats {
    std::uint64_t submitted = 0;   // SQEs handed to the ring
    std::uint64_t cqes = 0;        // CQEs handled (a multishot operation posts several)
    std::uint64_t completed = 0;   // operations ended (their last CQE)
    std::uint64_t sq_full = 0;     // times the SQ was full and had to be submitted first
    std::uint64_t queued = 0;      // requests that waited in the FIFO for a free CQ slot
    std::uint64_t cq_overflows = 0; // times the kernel flagged CQ overflow
    std::uint64_t enters = 0;      // io_uring_enter calls made by poll() and wait()
    std::uint64_t waits = 0;       // blocking waits in wait()
};

class uring_reactor final : public io_backend {
public:
    // Creates the ring and attaches to `sched` (detaches, restoring what was attached
    // before, on destruction). Throws std::system_error if no ring can be set up.
    explicit uring_reactor(scheduler& sched, reactor_options opts = {});
    uring_reactor(const uring_reactor&) = delete;
    uring_reactor& operator=(const uring_reactor&) = delete;
    // Operations still in flight are abandoned with the ring (the kernel cancels them);
    // their owners must not expect a completion. End them first.
    ~uring_reactor() override;

    // The reactor attached to the current thread's scheduler. Throws std::logic_error if
    // there is none.
    static uring_reactor& current();
    static uring_reactor* current_or_null() noexcept;

    // Puts r's SQE in the ring with user_data = &r (and the request linked behind it, if
    // any, right after), or queues r (FIFO) while the in-flight limit is reached. The kernel
    // sees it at the next poll() or wait() at the latest.
    void submit(io_request& r);
    // Takes back a request still queued (never seen by the kernel). False if it was not
    // queued: it is in flight or done.
    bool withdraw(io_request& r) noexcept;

    // io_backend
    std::size_t pending() const noexcept override { return pending_; }
    bool active() const noexcept override { return in_flight_ > 0 || !fifo_.empty(); }
    std::size_t poll() override;
    void wait(std::optional<duration> timeout) override;

    std::size_t in_flight() const noexcept { return in_flight_; }
    // Requests queued for room in the rings (counts the FIFO: for tests and statistics).
    std::size_t waiting_for_room() const noexcept;
    unsigned max_in_flight() const noexcept { return limit_; }
    unsigned sq_entries() const noexcept { return ring_.sq.ring_entries; }
    unsigned cq_entries() const noexcept { return ring_.cq.ring_entries; }
    // The IORING_SETUP_* flags the kernel accepted, and how many flag sets were tried.
    unsigned setup_flags() const noexcept { return ring_.flags; }
    unsigned setup_attempts() const noexcept { return attempts_; }
    bool defer_taskrun() const noexcept { return (ring_.flags & IORING_SETUP_DEFER_TASKRUN) != 0; }
    // Whether the kernel implements an opcode (probed once at construction).
    bool supports(int opcode) const noexcept;
    bool supports_multishot_read() const noexcept { return supports(op_read_multishot); }

    const reactor_stats& stats() const noexcept { return stats_; }
    io_uring& ring() noexcept { return ring_; }
    scheduler& owner() noexcept { return sched_; }

private:
    using fifo = boost::intrusive::list<io_request, boost::intrusive::constant_time_size<false>>;

    void setup(const reactor_options& opts);
    bool has_room(const io_request& r) const noexcept;
    void push(io_request& r);
    void place(io_request& r, unsigned extra_flags, bool counted);
    void drain_fifo();
    void make_room();
    void enter(bool get_events);
    std::size_t reap();
    void flush();

    scheduler& sched_;
    io_backend* previous_io_;
    uring_reactor* previous_reactor_;
    io_uring ring_{};
    unsigned limit_ = 0;       // ordinary requests in flight at most
    unsigned attempts_ = 0;
    std::size_t in_flight_ = 0;
    std::size_t pending_ = 0;
    bool reaping_ = false;
    bool taskrun_flag_ = false; // the kernel flags deferred work in sq.kflags
    fifo fifo_;
    std::unique_ptr<bool[]> supported_;
    unsigned supported_count_ = 0;
    reactor_stats stats_;
};

} // namespace coronet::uring
