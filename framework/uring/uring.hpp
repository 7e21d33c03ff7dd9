#pragma once
// The io_uring reactor in one include: the reactor, the awaitable system calls, provided
// buffer rings and the standing (multishot) read.
#include "framework/uring/buffer_ring.hpp"
#include "framework/uring/completion.hpp"
#include "framework/uring/operation.hpp"
#include "framework/uring/ops.hpp"
#include "framework/uring/reactor.hpp"
#include "framework/uring/standing_read.hpp"
