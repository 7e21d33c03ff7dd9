#include "framework/uring/reactor.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <system_error>

namespace coronet::uring {

namespace {

thread_local uring_reactor* current_reactor = nullptr;

// Flag sets tried in order until the kernel accepts one (EINVAL means "unknown flag").
// SINGLE_ISSUER + DEFER_TASKRUN (6.1): completion work runs only when we enter the ring,
// in our thread, batched. COOP_TASKRUN (5.19): no IPI to interrupt us for completion
// work. TASKRUN_FLAG: the kernel tells us in the SQ flags when such work waits, so poll()
// enters the ring only then. SUBMIT_ALL: one bad SQE does not hold back the rest.
constexpr unsigned flag_ladder[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
    0,
};

constexpr unsigned reap_batch = 64;

[[noreturn]] void fail(int negative_errno, const char* what) {
    throw std::system_error(-negative_errno, std::generic_category(), what);
}

} // namespace

uring_reactor::uring_reactor(scheduler& sched, reactor_options opts)
    : sched_(sched), previous_io_(sched.io()), previous_reactor_(current_reactor) {
    setup(opts);
    sched_.attach_io(this);
    current_reactor = this;
}

uring_reactor::~uring_reactor() {
    fifo_.clear();
    io_uring_queue_exit(&ring_);
    if (sched_.io() == this) sched_.attach_io(previous_io_);
    if (current_reactor == this) current_reactor = previous_reactor_;
}

void uring_reactor::setup(const reactor_options& opts) {
    unsigned sq = std::max(opts.sq_entries, 2u);
    // Room for every ordinary request in flight plus a reserve of one SQ's worth for
    // cancels, which must never wait behind the operations they end.
    unsigned cq = std::max(opts.cq_entries ? opts.cq_entries : default_cq_entries, 2 * sq);
    int err = -EINVAL;
    for (unsigned flags : flag_ladder) {
        ++attempts_;
        if (flags & opts.refuse_flags) continue;
        io_uring_params p{};
        p.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
        p.cq_entries = cq;
        err = io_uring_queue_init_params(sq, &ring_, &p);
        if (err == 0) break;
        if (err != -EINVAL) fail(err, "coronet: io_uring_queue_init_params");
    }
    if (err != 0) fail(err, "coronet: io_uring_queue_init_params");
    taskrun_flag_ = (ring_.flags & IORING_SETUP_TASKRUN_FLAG) != 0;
    limit_ = ring_.cq.ring_entries - ring_.sq.ring_entries;
    // Saves the kernel a file lookup on every enter; an old kernel without it still works.
    (void)io_uring_register_ring_fd(&ring_);

    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
        supported_count_ = probe->last_op + 1u;
        supported_ = std::make_unique<bool[]>(supported_count_);
        for (unsigned op = 0; op < supported_count_; ++op)
            supported_[op] = io_uring_opcode_supported(probe, static_cast<int>(op)) != 0;
        io_uring_free_probe(probe);
    }
}

uring_reactor& uring_reactor::current() {
    if (auto* r = current_or_null()) return *r;
    throw std::logic_error("coronet: no io_uring reactor attached to this thread's scheduler");
}

uring_reactor* uring_reactor::current_or_null() noexcept {
    auto* s = scheduler::current_or_null();
    auto* r = current_reactor;
    return s && r && s->io() == r ? r : nullptr;
}

bool uring_reactor::supports(int opcode) const noexcept {
    return opcode >= 0 && static_cast<unsigned>(opcode) < supported_count_ && supported_[opcode];
}

bool uring_reactor::has_room(const io_request& r) const noexcept {
    const std::size_t wanted = r.linked() ? 2 : 1;
    return in_flight_ + wanted <= (r.urgent() ? ring_.cq.ring_entries : limit_);
}

void uring_reactor::submit(io_request& r) {
    // Keep FIFO order: while others wait, an ordinary request waits behind them.
    if (fifo_.empty() || r.urgent()) {
        if (!has_room(r)) make_room();
        if (has_room(r)) {
            push(r);
            return;
        }
    }
    ++stats_.queued;
    if (r.urgent())
        fifo_.push_front(r);
    else
        fifo_.push_back(r);
}

bool uring_reactor::withdraw(io_request& r) noexcept {
    if (!r.queued()) return false;
    r.unlink();
    return true;
}

std::size_t uring_reactor::waiting_for_room() const noexcept { return fifo_.size(); }

void uring_reactor::push(io_request& r) {
    // A linked pair goes into one submission whole: the kernel takes an IOSQE_IO_LINK on the
    // last SQE of a submission as the end of the chain, and would answer a link timeout left
    // for the next one, with nothing before it, with EINVAL.
    const unsigned sqes = r.linked() ? 2 : 1;
    while (io_uring_sq_space_left(&ring_) < sqes) {
        ++stats_.sq_full;
        flush();
    }
    place(r, r.linked() ? IOSQE_IO_LINK : 0, !r.background_);
    if (io_request* next = r.linked()) place(*next, 0, r.counted_);
}

void uring_reactor::place(io_request& r, unsigned extra_flags, bool counted) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_); // room checked by push
    *sqe = *r.sqe();
    sqe->flags |= static_cast<std::uint8_t>(extra_flags);
    io_uring_sqe_set_data64(sqe, r.user_data());
    r.in_flight_ = true;
    r.counted_ = counted;
    ++in_flight_;
    if (r.counted_) ++pending_;
    ++stats_.submitted;
}

void uring_reactor::drain_fifo() {
    while (!fifo_.empty() && has_room(fifo_.front())) {
        io_request& r = fifo_.front();
        fifo_.pop_front();
        push(r);
    }
}

void uring_reactor::make_room() {
    // Inside a completion handler the reap in progress will free the room and drain the
    // FIFO itself; reaping again from there would only nest.
    if (reaping_) return;
    enter(true);
    reap();
}

void uring_reactor::flush() {
    ++stats_.enters;
    int r = io_uring_submit(&ring_);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) fail(r, "coronet: io_uring_submit");
    // EAGAIN/EBUSY: the kernel is short of memory or holds overflowed CQEs; reaping
    // (which flushes the overflow) lets the next attempt through.
    if (r == -EAGAIN || r == -EBUSY) {
        io_uring_get_events(&ring_);
        reap();
    }
}

void uring_reactor::enter(bool get_events) {
    ++stats_.enters;
    int r = get_events ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) fail(r, "coronet: io_uring_enter");
}

std::size_t uring_reactor::poll() {
    if (!fifo_.empty()) drain_fifo();
    bool get_events = false;
    if (in_flight_ > 0) {
        unsigned kflags = std::atomic_ref<unsigned>(*ring_.sq.kflags).load(std::memory_order_relaxed);
        if (kflags & IORING_SQ_CQ_OVERFLOW) ++stats_.cq_overflows;
        // Without the TASKRUN flag the kernel does not say whether completion work waits,
        // so a deferred-work ring has to be entered on every poll to find out.
        get_events = (kflags & IORING_SQ_CQ_OVERFLOW) ||
                     (taskrun_flag_ ? (kflags & IORING_SQ_TASKRUN) != 0 : defer_taskrun());
    }
    if (get_events || io_uring_sq_ready(&ring_) > 0) enter(get_events);
    return reap();
}

void uring_reactor::wait(std::optional<duration> timeout) {
    if (!fifo_.empty()) drain_fifo();
    if (io_uring_cq_ready(&ring_) == 0) {
        ++stats_.waits;
        ++stats_.enters;
        io_uring_cqe* cqe = nullptr;
        int r;
        if (timeout) {
            auto ns = std::max(timeout->count(), std::int64_t{0});
            __kernel_timespec ts{};
            ts.tv_sec = ns / 1'000'000'000;
            ts.tv_nsec = ns % 1'000'000'000;
            r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        } else {
            r = io_uring_submit_and_wait(&ring_, 1);
        }
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            fail(r, "coronet: io_uring wait");
    } else if (io_uring_sq_ready(&ring_) > 0) {
        enter(false);
    }
    reap();
}

std::size_t uring_reactor::reap() {
    // Copy a batch out of the CQ and release the slots before calling any handler: a
    // handler may submit (even reap, through make_room) without seeing a CQE twice.
    struct entry {
        std::uint64_t user_data;
        int res;
        std::uint32_t flags;
    };
    struct guard {
        bool& flag;
        explicit guard(bool& f) : flag(f) { flag = true; }
        ~guard() { flag = false; }
    } reaping(reaping_);

    std::size_t handled = 0;
    for (;;) {
        io_uring_cqe* cqes[reap_batch];
        unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, reap_batch);
        if (n == 0) break;
        entry batch[reap_batch];
        for (unsigned i = 0; i < n; ++i) batch[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
        io_uring_cq_advance(&ring_, n);
        for (unsigned i = 0; i < n; ++i) {
            // liburing's own timeout SQE (kernels without EXT_ARG) is not one of ours.
            if (batch[i].user_data == 0 || batch[i].user_data == LIBURING_UDATA_TIMEOUT) continue;
            auto* c = reinterpret_cast<io_completion*>(batch[i].user_data);
            ++stats_.cqes;
            if (!(batch[i].flags & IORING_CQE_F_MORE)) {
                c->in_flight_ = false;
                --in_flight_;
                if (c->counted_) --pending_;
                ++stats_.completed;
            }
            // The handler may resubmit or destroy c: nothing touches c after this call.
            c->on_cqe_(c, batch[i].res, batch[i].flags);
            ++handled;
        }
        if (!fifo_.empty()) drain_fifo();
    }
    return handled;
}

} // namespace coronet::uring
