#pragma once
// Shards: one coronet per core, sharing nothing (DESIGN.md, "Threads and cores"). A shard is
// a thread pinned to its core with its own scheduler and io_uring; everything a server builds
// on it (NIC queue, stack, pools, processes, counters) is its own, touched by no other
// thread. Shards talk only by message (submit.hpp: submit_to, try_post, invoke_on_all,
// map_reduce), as Seastar's do:
//
//   shard_group shards({.count = 2});
//   shards.run([](shard& s) -> task<void> {
//       int other = co_await submit_to((s.id() + 1) % s.count(), [] { return 42; });
//   });
//
// Messages. Every ordered pair of shards has a lock-free single-producer single-consumer
// ring of message pointers (spsc_ring.hpp), so a message costs no lock and no allocation
// beyond the message itself, and messages from one shard to another arrive in the order
// they were sent. The receiver handles them in a DPC, a budget at a time, like a NIC's
// frames. The doorbell that wakes a sleeping receiver is an eventfd read through its
// io_uring; a sender rings it only when the receiver has not been rung since it last looked
// (an atomic flag), so a burst of messages costs one write(2). (io_uring's MSG_RING would
// post straight into the receiver's ring, but its completion is one the receiver never
// submitted, which the reactor's in-flight accounting does not allow; the eventfd works on
// every kernel and batches as well.)
//
// Back-pressure. A shard has at most `max_in_flight` calls (submit_to) outstanding to each
// other shard; the next caller waits for a reply. A ring holds room for those calls and for
// their replies both ways, so neither ever finds it full; fire-and-forget posts (a forwarded
// packet) get the rest, and are refused when it is taken: the sender drops and counts, as a
// NIC does with a full queue.
//
// Simulation. In shard_mode::simulated every shard runs on the calling thread, each with its
// own scheduler on one shared virtual clock, one turn each in shard order, the clock moved
// to the earliest timer of any shard when none has work: multi-core behaviour, replayed
// byte for byte by a unit test.
#include "framework/clock.hpp"
#include "framework/scheduler.hpp"
#include "framework/shard/spsc_ring.hpp"
#include "framework/task.hpp"

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace coronet {

namespace uring {
class uring_reactor;
}

class shard;
class shard_group;

enum class shard_mode : std::uint8_t {
    threads,   // a thread per shard, pinned to its core, with a real clock and an io_uring
    simulated, // every shard on the calling thread, on one virtual clock, in a fixed order
};

struct shard_options {
    // 0: one per CPU the process may run on (sched_getaffinity).
    unsigned count = 1;
    shard_mode mode = shard_mode::threads;
    // Threads: shard i runs on the i-th CPU the process may use (wrapping around).
    bool pin = true;
    // Simulated: the shared clock; by default the group's own, starting at 0.
    virtual_clock* clock = nullptr;
    // submit_to calls from one shard to another before the next caller waits.
    unsigned max_in_flight = 256;
    // Posts queued from one shard to another before try_post refuses.
    unsigned post_slots = 1024;
    // Messages a shard handles per DPC call before other work gets a turn.
    unsigned inbox_budget = 256;
};

// A message from one shard to another: allocated by the sender, deliver() called on the
// receiving shard's thread, which then owns it.
class shard_message {
public:
    virtual ~shard_message() = default;
    virtual void deliver(shard& here) = 0;
};

struct shard_stats {
    std::uint64_t sent = 0;          // messages this shard put in another's ring (replies too)
    std::uint64_t received = 0;      // messages it handled
    std::uint64_t posts_refused = 0; // try_post calls refused: the ring's post room was full
    std::uint64_t doorbells = 0;     // eventfd writes it made to wake another shard
    std::uint64_t call_waits = 0;    // submit_to calls that waited for a free call slot
};

class shard {
public:
    shard(const shard&) = delete;
    shard& operator=(const shard&) = delete;
    ~shard();

    unsigned id() const noexcept { return id_; }
    unsigned count() const noexcept;
    shard_group& group() noexcept { return group_; }
    scheduler& sched() noexcept { return *sched_; }
    // Threads mode: the shard's io_uring. Null in simulation.
    uring::uring_reactor* reactor() noexcept { return reactor_.get(); }
    const shard_stats& stats() const noexcept { return stats_; }

    // The shard whose code is running on this thread (its loop, or its turn in a simulation).
    static shard& current();
    static shard* current_or_null() noexcept;

    // --- used by submit.hpp ---
    // Waits until fewer than max_in_flight calls to `to` are outstanding and takes a slot.
    task<void> acquire_call_slot(unsigned to);
    void release_call_slot(unsigned to) noexcept;
    // A call or its reply, to `to`; always has room (see the top).
    void send(unsigned to, shard_message* m) noexcept;
    // A post to `to`; false (nothing sent) when its room is full.
    bool post(unsigned to, shard_message* m) noexcept;

private:
    friend class shard_group;
    struct doorbell;
    struct slot_waiter;
    struct inbox_dpc final : dpc {
        explicit inbox_dpc(shard* s) : dpc(&run), owner(s) {}
        static bool run(dpc* d, unsigned budget);
        shard* owner;
    };

    shard(shard_group& g, unsigned id);
    void sent(unsigned to) noexcept; // counts and notifies
    // Makes shard `to` look at its inbox soon.
    void notify(unsigned to) noexcept;
    // Threads mode, on this shard's thread: the doorbell's read completed.
    void rung() noexcept;
    bool drain(unsigned budget);
    void start_thread_loop();
    void stop_thread_loop();
    void wake() noexcept; // rings this shard's doorbell from any thread

    shard_group& group_;
    const unsigned id_;
    std::optional<scheduler> sched_;
    std::unique_ptr<uring::uring_reactor> reactor_;
    std::unique_ptr<doorbell> doorbell_;
    int eventfd_ = -1;
    std::atomic<bool> notified_{false};
    inbox_dpc inbox_{this};
    unsigned next_peer_ = 0;                // where drain() starts, round robin
    std::vector<unsigned> calls_in_flight_; // per destination
    std::vector<std::unique_ptr<
        boost::intrusive::list<slot_waiter, boost::intrusive::constant_time_size<false>>>>
        slot_waiters_;
    shard_stats stats_;
};

class shard_group {
public:
    explicit shard_group(shard_options opts = {});
    ~shard_group();
    shard_group(const shard_group&) = delete;
    shard_group& operator=(const shard_group&) = delete;

    unsigned size() const noexcept { return static_cast<unsigned>(shards_.size()); }
    shard& at(unsigned i) { return *shards_.at(i); }
    const shard_options& options() const noexcept { return opts_; }
    // Simulated: the shared virtual clock.
    virtual_clock* clock() noexcept { return clock_; }

    // Runs main on every shard at once (each on its own scheduler) and returns when every one
    // has returned; a shard whose main has returned goes on handling messages until all have.
    // The first exception a main threw is rethrown here, after every shard stopped.
    // Simulated: throws deadlock_error when no shard can make progress any more.
    void run(const std::function<task<void>(shard&)>& main);
    // Threads only: main runs on its shard's thread with the shard's scheduler and reactor set
    // up, and drives the loop itself (sched().run(...)), as run_server does.
    void run_threads(const std::function<void(shard&)>& main);

    // CPUs the process may run on, in order (what count = 0 and pinning use).
    static std::vector<int> usable_cpus();

private:
    friend class shard;
    spsc_ring<shard_message>& ring(unsigned from, unsigned to) {
        return *rings_[from * size() + to];
    }
    void run_simulated(const std::function<task<void>(shard&)>& main);
    void finished_one();

    shard_options opts_;
    std::unique_ptr<virtual_clock> own_clock_;
    virtual_clock* clock_ = nullptr;
    std::vector<std::unique_ptr<spsc_ring<shard_message>>> rings_; // [from * n + to]
    std::vector<std::unique_ptr<shard>> shards_;
    std::vector<int> cpus_;
    std::atomic<unsigned> finished_{0};
};

} // namespace coronet
