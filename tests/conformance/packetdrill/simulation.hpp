#pragma once
// simulation: coronet's native stack on one script_nic, on a virtual clock, owned by a thread
// of its own.
//
// Why a thread: packetdrill calls in from two threads (its main thread, and one that makes the
// script's blocking calls), while coronet is single-threaded per core (its scheduler is the
// thread's current one, coroutine frames come from per-thread free lists). So every touch of
// the stack is a job run on the simulation's thread, one at a time, followed by a settle (the
// scheduler runs until nothing is ready). A caller blocks until its job has run.
//
// Time moves only when a job moves it (usleep, gettimeofday, a sniff that waits for the next
// packet), timer by timer, so every timer fires at its exact virtual time. A blocking call
// (accept, connect, read, poll...) waits for its coroutine to finish while the other thread
// drives time; should nothing at all run for `idle_step` of real time, the waiter lets virtual
// time run to the next timer itself, as real time would pass on Linux.
//
// Hand-back. packetdrill's syscall thread, once a blocking call returns, reads the clock (the
// call's end time) and takes packetdrill's run lock to record the result (an accepted
// descriptor becomes the script's socket under test), while the main thread sleeps until its
// next event with that lock released. On Linux that sleep is real time, and the syscall
// thread wins the lock. Here a sleep is virtual and returns at once, so the main thread could
// retake the lock, and run a `%{ }%` block 5 ms later on the listener, before the syscall
// thread recorded anything. So the moment a blocking call's condition holds (checked on the
// simulation's thread after every job and between the timers of a sleep), the call is owed a
// hand-back, and sleep() lets no virtual time pass while one is owed to another thread: it
// waits until that thread has read the clock after returning and then sleeps (Linux's
// /proc/self/task/TID/stat says S: it went through packetdrill's lock, which the sleeping
// main thread does not hold, and waits for its next call), or is gone, or is in its next
// blocking call; at most `handback_limit` of real time.
#include "framework/clock.hpp"
#include "framework/counters.hpp"
#include "framework/process/process.hpp"
#include "framework/scheduler.hpp"
#include "protocols/stack/native_stack.hpp"
#include "tests/conformance/packetdrill/script_nic.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>
#include <vector>

namespace coronet::packetdrill {

struct settings {
    // packetdrill runs with --local_ip=192.168.0.2 (the run's command line; a script that
    // names its own local_ip gets it in --so_flags too), in 192.168.0.0/16; the script's
    // remote 192.0.2.1 is reached through a gateway of that subnet that no script uses as
    // its local address (the NIC answers ARP for any address but ours).
    ipv4_prefix local{ipv4_address(192, 168, 0, 2), 16};
    ipv4_address gateway{192, 168, 255, 254};
    std::uint32_t mtu = 1500;
    std::uint64_t seed = 1;
    // "local_ip=A.B.C.D/N,gateway=A.B.C.D,mtu=N,seed=N" (packetdrill's --so_flags); EINVAL
    // for anything else.
    static result<settings> parse(const char* flags);
};

class simulation {
public:
    explicit simulation(settings s);
    ~simulation();
    simulation(const simulation&) = delete;
    simulation& operator=(const simulation&) = delete;

    // The world, touched only from jobs.
    struct world {
        explicit world(const settings& s);
        ~world();
        virtual_clock clock;
        scheduler sched{{.time_source = &clock}};
        counter_registry registry;
        buffer_pool pool{{.buffer_size = 2048, .buffer_count = 8192}};
        script_nic card;
        native::native_stack stack;
        ref<process> app;
    };

    // Runs f(world&) on the simulation's thread, then settles; returns what f returned.
    template <class F>
    auto run(F f) -> decltype(f(std::declval<world&>())) {
        using R = decltype(f(std::declval<world&>()));
        if constexpr (std::is_void_v<R>) {
            post([&] { f(*world_); });
        } else {
            std::optional<R> out;
            post([&] { out.emplace(f(*world_)); });
            return std::move(*out);
        }
    }
    // Waits until `done` (checked on the simulation's thread after each job) holds.
    void wait_until(const std::function<bool(world&)>& done);
    // Lets `d` of virtual time pass (not in job context), pausing while a hand-back is owed
    // to another thread (above).
    void sleep_for(std::chrono::microseconds d);
    // The calling thread has read the clock: the hand-backs owed to it are returned.
    void clock_read();

    // Lets virtual time reach `target`, each timer firing at its own time (job context).
    static void advance_to(world& w, time_point target);
    // Runs to the next timer, at most to `limit` (job context); false when none is due by then.
    static bool step(world& w, time_point limit);
    static void settle(world& w);

    static constexpr auto idle_step = std::chrono::milliseconds(200);
    // packetdrill's own bound on waiting for its syscall thread (await_idle_thread).
    static constexpr auto handback_limit = std::chrono::seconds(1);

private:
    struct waiter {
        const std::function<bool(world&)>* done;
        pid_t thread;
        bool met = false;
    };
    struct handback {
        pid_t thread;
        bool returned = false; // the thread read the clock since
    };

    void post(const std::function<void()>& job);
    void loop(settings s);
    // Checks every waiter's condition; a met one is owed a hand-back (simulation's thread,
    // m_ held).
    void check_waiters();
    // Whether a hand-back is owed to a thread other than `self` (job context).
    bool handback_due(pid_t self);
    // Waits until no hand-back is owed to a thread other than `self` (not in job context).
    void await_handbacks(pid_t self);

    std::mutex m_;
    std::condition_variable jobs_cv_;
    std::condition_variable done_cv_;
    std::deque<std::pair<const std::function<void()>*, bool*>> jobs_;
    std::uint64_t progress_ = 0; // jobs run so far
    std::vector<waiter*> waiters_;
    std::vector<handback> handbacks_;
    bool stop_ = false;
    bool ready_ = false;
    std::unique_ptr<world> world_;
    std::thread thread_;
};

} // namespace coronet::packetdrill
