#pragma once
// shard_run: what the shards of one run_server share, and how one of them ends them all
// (launch.cpp's own). Shard i's slots are written only on shard i's thread; another shard
// reaches them by calling on shard i (framework/shard/submit.hpp), never directly. With one
// core there is no shard_group: the same code runs with `group` null.
#include "framework/process/process.hpp"
#include "framework/shard/shard.hpp"
#include "framework/task_scope.hpp"
#include "protocols/stack/launch.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace coronet::launch {

class run_shared {
public:
    explicit run_shared(unsigned count) : slots_(count), alive_(count) {}

    unsigned count() const noexcept { return static_cast<unsigned>(slots_.size()); }

    // On shard i, once its process exists / before it goes away. A stop that came earlier
    // ends the new process at once.
    void attach(unsigned i, process& p, server_context& ctx);
    void detach(unsigned i) noexcept;
    // On shard i, once, when it is done serving (or failed to start): see all_ended().
    void shard_done() noexcept;

    // Ends every shard's process: `signalled` says why (a signal, or finish_all(code)).
    // Called on shard `from`; the calls to the others run in `background` (joined by the
    // caller before it returns).
    void end_all(unsigned from, bool signalled, int code, task_scope& background);
    // Every shard's counters and TCP table, as SIGUSR1 prints them.
    task<std::string> report_all();

    // Every shard is done; the last one wakes shard 0 (which watches signals until then).
    bool all_ended() const noexcept { return alive_.load(std::memory_order_acquire) == 0; }

private:
    struct slot {
        process* proc = nullptr;
        server_context* ctx = nullptr;
    };
    void stop_here(unsigned i);

    std::vector<slot> slots_;
    std::atomic<unsigned> alive_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> signalled_{false};
    std::atomic<int> code_{0};
};

// The report of one shard (counters, and TCP connections on the native stack).
std::string report_text(const server_context& ctx);

} // namespace coronet::launch
