#pragma once
// Kernel objects a process reaches through handles for synchronisation: an event and a
// semaphore, each wrapping the framework primitive of the same name. Waiting on either
// (or on a process, for its exit) is the wait system call.
#include "framework/object/object.hpp"
#include "framework/wait_queue.hpp"

namespace coronet {

class event_object final : public typed_object<object_type::event> {
public:
    explicit event_object(event::reset_mode mode, bool initially_set) : ev(mode, initially_set) {}
    event ev;
};

class semaphore_object final : public typed_object<object_type::semaphore> {
public:
    semaphore_object(std::size_t initial, std::size_t maximum) : sem(initial), max(maximum) {}
    semaphore sem;
    std::size_t max;
};

} // namespace coronet
