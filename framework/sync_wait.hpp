#pragma once
// sync_wait(task): runs a task to its end from ordinary code and returns its value (or
// rethrows). Uses the thread's scheduler if there is one, else a temporary one on a real
// clock. Not for use inside a coroutine: it would block the core.
#include "framework/scheduler.hpp"

namespace coronet {

template <class T>
T sync_wait(task<T> t) {
    if (auto* s = scheduler::current_or_null()) return s->run(std::move(t));
    scheduler s;
    return s.run(std::move(t));
}

} // namespace coronet
