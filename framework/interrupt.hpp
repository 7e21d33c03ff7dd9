#pragma once
// Interrupts, after the kernel's split between a top half and a bottom half.
// A driver takes a numbered line and connects its interrupt service routine (ISR) when it
// starts. Raising the line (an io_uring completion for the NIC, or the in-memory wire
// delivering a frame) runs the top half at once: count it, call the ISR, which should do
// nothing but mark the device and queue its DPC, and wake kernel coroutines that
// co_await the line. The DPC then runs from the scheduler, before user work, with a
// budget (see dpc in scheduler.hpp).
#include "framework/result.hpp"
#include "framework/scheduler.hpp"
#include "framework/wait_queue.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coronet {

class interrupt_controller {
public:
    using service_routine = void (*)(void* context, unsigned line);

    interrupt_controller() = default;
    interrupt_controller(const interrupt_controller&) = delete;
    interrupt_controller& operator=(const interrupt_controller&) = delete;

    // A new line, numbered from 0 in order of allocation.
    unsigned allocate(std::string_view name);
    // EBUSY if the line has a routine already, EINVAL if there is no such line.
    result<> connect(unsigned line, service_routine isr, void* context);
    // The common case: the ISR only queues `d`.
    result<> connect_dpc(unsigned line, dpc& d);
    void disconnect(unsigned line);

    // The top half. Raising an unconnected line only counts it (a spurious interrupt).
    void raise(unsigned line);
    // co_await interrupts.wait(line): a kernel coroutine sleeps until the next raise.
    auto wait(unsigned line) { return lines_.at(line)->waiters.wait(); }

    std::uint64_t count(unsigned line) const { return lines_.at(line)->raised; }
    std::uint64_t spurious(unsigned line) const { return lines_.at(line)->spurious; }
    const std::string& name(unsigned line) const { return lines_.at(line)->name; }
    std::size_t size() const noexcept { return lines_.size(); }

private:
    struct line_state {
        std::string name;
        service_routine isr = nullptr;
        void* context = nullptr;
        std::uint64_t raised = 0;
        std::uint64_t spurious = 0;
        wait_queue waiters;
    };
    std::vector<std::unique_ptr<line_state>> lines_;
};

} // namespace coronet
