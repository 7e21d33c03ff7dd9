#pragma once
// What the scheduler needs from an I/O reactor (the io_uring reactor implements it): reap
// completions without blocking, block until one arrives or a timeout passes, and say
// whether any operation is still in flight (with a virtual clock, time may only jump to
// the next timer when none is).
#include "framework/clock.hpp"

#include <cstddef>
#include <optional>

namespace coronet {

class io_backend {
public:
    virtual ~io_backend() = default;
    // Operations submitted and not yet completed, not counting ones that never end on
    // their own and so must not hold back virtual time (a NIC's standing receive, say).
    virtual std::size_t pending() const noexcept = 0;
    // Anything in flight at all, background operations included: with a real clock the
    // scheduler blocks in wait() while this is true, since a completion may still come.
    virtual bool active() const noexcept = 0;
    // Submits queued operations and handles the completions already there. Never blocks.
    // Returns the number of completions handled.
    virtual std::size_t poll() = 0;
    // Submits, then blocks until at least one completion or until `timeout` passes
    // (forever when empty); handles what arrived.
    virtual void wait(std::optional<duration> timeout) = 0;
};

} // namespace coronet
