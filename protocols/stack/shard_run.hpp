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
#include <cstdint>
#include <future>
#include <string>
#include <vector>

namespace coronet {
namespace uring {
class uring_reactor;
}
namespace native {
class native_stack;
}
} // namespace coronet

namespace coronet::launch {

class signal_reader; // launch.cpp: SIGINT/SIGTERM/SIGUSR1 as bytes on a pipe

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
    // Every shard's counters and socket table, as SIGUSR1 prints them.
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

// Where a shard's server runs: its index, what the shards share, and (on shard 0, when
// the run stops on signals) the signal pipe.
struct shard_place {
    unsigned id = 0;
    run_shared& shared;
    signal_reader* signals = nullptr;
    bool done = false; // shard_done() was called
};

// --- launch.cpp ---
std::string process_name(const stack_options& o, const shard_place& place);
// Runs the process until it ends (and, on the shard watching signals, until every shard is
// done), then the calls it made to end the others.
void run_process(scheduler& sched, process& p, server_context& ctx, shard_place& place);
// What run_server returns for this shard (a crash's reason printed on stderr).
int exit_code_of(const process& p, const server_context& ctx);

// --- launch_native.cpp ---
// What native shards share besides run_shared: the seed (every shard's stack has the same
// keys: the owner of a connection is a keyed hash), the TAP device shard 0 made (the others
// attach a queue each), and each shard's stack, for the frames forwarded to it.
struct native_shared {
    native_shared(unsigned count, std::uint64_t stack_seed);
    std::uint64_t seed;
    std::promise<std::string> device_made;
    std::shared_future<std::string> device;
    std::vector<native::native_stack*> stacks; // slot i written on shard i only
};
int run_native_shard(const stack_options& o, const server_main& server, scheduler& sched,
                     uring::uring_reactor& reactor, shard_place& place, native_shared& shared);

// The report of one shard (counters, and TCP connections on the native stack).
std::string report_text(const server_context& ctx);

} // namespace coronet::launch
