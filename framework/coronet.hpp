#pragma once
// The kernel core in one include: coroutine types, scheduler, time, timeouts, sleep/wake-up
// primitives and interrupts.
#include "framework/clock.hpp"
#include "framework/interrupt.hpp"
#include "framework/result.hpp"
#include "framework/scheduler.hpp"
#include "framework/sleep.hpp"
#include "framework/sync_wait.hpp"
#include "framework/task.hpp"
#include "framework/task_scope.hpp"
#include "framework/timeout.hpp"
#include "framework/wait_queue.hpp"
#include "framework/when_all.hpp"
#include "framework/when_any.hpp"
