#include "framework/scheduler.hpp"

#include "framework/interrupt.hpp"

#include <thread>

namespace coronet {

scheduler::scheduler() : scheduler(options{}) {}

scheduler::scheduler(options opts)
    : own_clock_(opts.time_source ? nullptr : std::make_unique<real_clock>()),
      clock_(opts.time_source ? opts.time_source : own_clock_.get()), opts_(opts), timers_(clock_->now()),
      interrupts_(std::make_unique<interrupt_controller>()), previous_(current_) {
    current_ = this;
}

scheduler::~scheduler() {
    ready_.clear();
    dpcs_.clear();
    current_ = previous_;
}

void scheduler::no_scheduler() { throw std::logic_error("coronet: no scheduler on this thread"); }

void scheduler::run_dpcs() {
    // One pass over the DPCs queued now; a DPC with work left goes to the back and runs
    // again next turn, after user work has had its share.
    decltype(dpcs_) pass;
    pass.splice(pass.end(), dpcs_);
    while (!pass.empty()) {
        dpc& d = pass.front();
        pass.pop_front();
        ++stats_.dpcs_run;
        if (d.fn_(&d, opts_.dpc_budget)) queue_dpc(d);
    }
}

void scheduler::run_ready() {
    // Only what was ready when the turn began: a coroutine that yields or wakes another
    // goes to the next turn, after timers, completions and DPCs have had theirs. When
    // there are none of those to serve, the batch goes on (up to its limit) instead of
    // paying a loop turn per resume.
    ready_node* last = &ready_.back();
    for (unsigned i = 0; i < opts_.ready_batch && !ready_.empty(); ++i) {
        ready_node& n = ready_.front();
        ready_.pop_front();
        bool was_last = &n == last; // n may be gone after resume()
        ++stats_.resumed;
        n.handle.resume();
        if (was_last) {
            if (io_ || !dpcs_.empty() || timers_.maybe_armed()) break;
            last = ready_.empty() ? nullptr : &ready_.back();
        }
    }
}

bool scheduler::run_once(bool may_block) {
    if (timers_.maybe_armed()) stats_.timers_fired += timers_.advance(clock_->now());
    // Completions may only change state (a NIC's raw handler) without readying anyone;
    // the loop must then look again rather than block.
    std::size_t reaped = io_ ? io_->poll() : 0;
    if (!dpcs_.empty()) run_dpcs();
    if (!ready_.empty()) {
        run_ready();
        return true;
    }
    if (!dpcs_.empty() || reaped > 0) return true;
    return idle(may_block);
}

bool scheduler::step() {
    std::uint64_t fired = timers_.maybe_armed() ? timers_.advance(clock_->now()) : 0;
    stats_.timers_fired += fired;
    std::size_t reaped = io_ ? io_->poll() : 0;
    bool worked = fired > 0 || reaped > 0 || !dpcs_.empty() || !ready_.empty();
    if (!dpcs_.empty()) run_dpcs();
    if (!ready_.empty()) run_ready();
    return worked;
}

bool scheduler::idle(bool may_block) {
    auto next = timers_.next_expiry();
    bool io_pending = io_ && io_->pending() > 0;
    // Background I/O (a NIC's standing read) cannot hold back virtual time, but on a real
    // clock, or when no timer is left, it is still something to wait for.
    bool io_active = io_ && io_->active();
    if (!next && !io_active) return false;
    if (!may_block) return true;
    if (clock_->is_virtual() && !io_pending && next) {
        // Only timers can make progress on virtual time: jump straight to the earliest.
        if (*next > clock_->now()) clock_->advance_to(*next);
        ++stats_.time_jumps;
        stats_.timers_fired += timers_.advance(clock_->now());
        return true;
    }
    ++stats_.idle_waits;
    std::optional<duration> timeout;
    if (next && !clock_->is_virtual()) {
        auto now = clock_->now();
        timeout = *next > now ? *next - now : duration::zero();
    }
    if (io_active)
        io_->wait(timeout);
    else if (timeout)
        std::this_thread::sleep_for(*timeout);
    return true;
}

void scheduler::run_until_idle() {
    while (run_once(true)) {
    }
}

} // namespace coronet
