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

    // Lets virtual time reach `target`, each timer firing at its own time (job context).
    static void advance_to(world& w, time_point target);
    // Runs to the next timer, at most to `limit` (job context); false when none is due by then.
    static bool step(world& w, time_point limit);
    static void settle(world& w);

    static constexpr auto idle_step = std::chrono::milliseconds(200);

private:
    void post(const std::function<void()>& job);
    void loop(settings s);

    std::mutex m_;
    std::condition_variable jobs_cv_;
    std::condition_variable done_cv_;
    std::deque<std::pair<const std::function<void()>*, bool*>> jobs_;
    std::uint64_t progress_ = 0; // jobs run so far
    bool stop_ = false;
    bool ready_ = false;
    std::unique_ptr<world> world_;
    std::thread thread_;
};

} // namespace coronet::packetdrill
