#include "tests/conformance/packetdrill/simulation.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace coronet::packetdrill {

result<settings> settings::parse(const char* flags) {
    settings s;
    std::string_view rest = flags != nullptr ? flags : "";
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) return error{EINVAL};
        const auto key = item.substr(0, eq), value = item.substr(eq + 1);
        auto number = [&](std::uint64_t& out) {
            return std::from_chars(value.data(), value.data() + value.size(), out).ec ==
                   std::errc{};
        };
        std::uint64_t n = 0;
        if (key == "local_ip") {
            auto p = value.find('/') == std::string_view::npos
                         ? ipv4_prefix::parse(std::string(value) + "/16")
                         : ipv4_prefix::parse(value);
            if (!p) return error{EINVAL};
            s.local = *p;
        } else if (key == "gateway") {
            auto a = ipv4_address::parse(value);
            if (!a) return error{EINVAL};
            s.gateway = *a;
        } else if (key == "mtu" && number(n) && n >= 576 && n <= 9000) {
            s.mtu = static_cast<std::uint32_t>(n);
        } else if (key == "seed" && number(n)) {
            s.seed = n;
        } else {
            return error{EINVAL};
        }
    }
    return s;
}

namespace {
native::options stack_options(buffer_pool& pool, const settings& s) {
    native::options o;
    o.pool = &pool;
    o.seed = s.seed;
    o.tcp.seed = s.seed;
    // As gtests/net/tcp/common/defaults.sh sets Linux up before each script: tcp_rmem
    // "4096 540000 15 MiB" (the ceiling decides the window scale, 8), tcp_wmem's default
    // 256 KiB, tcp_syn_retries 5.
    o.tcp.max_receive_buffer = 15 << 20;
    o.tcp.send_buffer = 256 << 10;
    o.tcp.syn_retries = 5;
    return o;
}
nic_config card_config(const settings& s) {
    nic_config c;
    c.name = "pd0";
    c.mtu = s.mtu;
    return c;
}
} // namespace

simulation::world::world(const settings& s)
    : card(sched, registry, pool, card_config(s)), stack(sched, registry, stack_options(pool, s)) {
    stack.add_interface(card, s.local);
    if (!stack.set_default_gateway(s.gateway))
        throw std::runtime_error("gateway outside the local subnet");
    app = process::create("packetdrill", &stack);
    settle(*this);
    card.sent.clear(); // nothing the script should see (ARP is absorbed already)
}

simulation::world::~world() {
    app->terminate("simulation over");
    sched.run(app->join());
}

simulation::simulation(settings s) : thread_([this, s] { loop(s); }) {
    std::unique_lock l(m_);
    done_cv_.wait(l, [&] { return ready_; });
    if (!world_) {
        l.unlock();
        thread_.join();
        throw std::runtime_error("packetdrill: the simulated stack did not start");
    }
}

simulation::~simulation() {
    {
        std::lock_guard l(m_);
        stop_ = true;
    }
    jobs_cv_.notify_all();
    thread_.join();
}

void simulation::loop(settings s) {
    try {
        world_ = std::make_unique<world>(s);
    } catch (...) {
    }
    {
        std::lock_guard l(m_);
        ready_ = true;
    }
    done_cv_.notify_all();
    if (!world_) return;
    std::unique_lock l(m_);
    for (;;) {
        jobs_cv_.wait(l, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) break; // stop_, and every job done
        auto [job, done] = jobs_.front();
        jobs_.pop_front();
        l.unlock();
        (*job)();
        settle(*world_);
        l.lock();
        check_waiters();
        *done = true;
        ++progress_;
        done_cv_.notify_all();
    }
    l.unlock();
    world_.reset(); // on this thread: the scheduler is this thread's
}

void simulation::post(const std::function<void()>& job) {
    bool done = false;
    std::unique_lock l(m_);
    jobs_.emplace_back(&job, &done);
    jobs_cv_.notify_one();
    done_cv_.wait(l, [&] { return done; });
}

void simulation::wait_until(const std::function<bool(world&)>& done) {
    waiter me{.done = &done, .thread = gettid()};
    {
        std::lock_guard l(m_);
        // A thread in its next blocking call has long returned from its last.
        std::erase_if(handbacks_, [&](const handback& h) { return h.thread == me.thread; });
        waiters_.push_back(&me);
    }
    struct unregister { // should a job throw, no dangling waiter stays behind
        simulation& s;
        waiter& w;
        ~unregister() {
            std::lock_guard l(s.m_);
            std::erase(s.waiters_, &w);
        }
    } guard{*this, me};
    run([](world&) {}); // the loop checks the condition after it
    std::unique_lock l(m_);
    while (!me.met) {
        const auto seen = progress_;
        // Another thread's job may meet it; with no job at all for idle_step, time passes.
        if (!done_cv_.wait_for(l, idle_step, [&] { return me.met || progress_ != seen; })) {
            l.unlock();
            run([](world& w) { (void)step(w, w.clock.now() + std::chrono::hours(24)); });
            l.lock();
        }
    }
}

void simulation::check_waiters() {
    std::erase_if(waiters_, [&](waiter* w) {
        if (!(*w->done)(*world_)) return false;
        w->met = true;
        handbacks_.push_back({.thread = w->thread});
        return true;
    });
}

bool simulation::handback_due(pid_t self) {
    std::lock_guard l(m_);
    check_waiters();
    return std::any_of(handbacks_.begin(), handbacks_.end(),
                       [&](const handback& h) { return h.thread != self; });
}

void simulation::clock_read() {
    const pid_t self = gettid();
    std::lock_guard l(m_);
    for (auto& h : handbacks_)
        if (h.thread == self) h.returned = true;
    done_cv_.notify_all();
}

namespace {
// As packetdrill's is_thread_sleeping: the state field of /proc/self/task/TID/stat ('S' for a
// wait on a futex or a condition variable), '\0' for a thread that is gone.
char thread_state(pid_t thread) {
    const auto path = "/proc/self/task/" + std::to_string(thread) + "/stat";
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) return '\0';
    char buf[512] = {};
    const auto n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    // "TID (comm) S ...": comm may hold spaces and parentheses, the last ')' ends it.
    const std::string_view stat(buf, n);
    const auto end = stat.rfind(')');
    return end != std::string_view::npos && end + 2 < stat.size() ? stat[end + 2] : '?';
}

// Whether the hand-back owed to h.thread is done: it returned, read the clock and sleeps
// again, or it is gone.
template <class H>
bool handed_back(const H& h) {
    const char state = thread_state(h.thread);
    return state == '\0' || (h.returned && state == 'S');
}
} // namespace

void simulation::await_handbacks(pid_t self) {
    const auto deadline = std::chrono::steady_clock::now() + handback_limit;
    std::unique_lock l(m_);
    for (;;) {
        std::erase_if(handbacks_, [&](const handback& h) { return h.thread == self; });
        auto owed = handbacks_;
        if (owed.empty()) return;
        l.unlock(); // no lock while reading /proc
        std::erase_if(owed, [](const handback& h) { return !handed_back(h); });
        l.lock();
        std::erase_if(handbacks_, [&](const handback& h) {
            return std::any_of(owed.begin(), owed.end(), [&](const handback& o) {
                return o.thread == h.thread && o.returned == h.returned;
            });
        });
        if (std::chrono::steady_clock::now() >= deadline) {
            handbacks_.clear(); // a thread that never comes back must not stop time for good
            return;
        }
        // The other thread is on its way: a real-time pause, no virtual time.
        if (!handbacks_.empty()) done_cv_.wait_for(l, std::chrono::microseconds(50));
    }
}

void simulation::sleep_for(std::chrono::microseconds d) {
    const pid_t self = gettid();
    const auto target = run([&](world& w) { return w.clock.now() + d; });
    for (;;) {
        await_handbacks(self);
        const bool reached = run([&](world& w) {
            do {
                if (handback_due(self)) return false; // stop at the time the call ended
            } while (step(w, target));
            if (target > w.clock.now()) w.clock.advance_to(target);
            settle(w);
            return true;
        });
        if (reached) return;
    }
}

void simulation::settle(world& w) {
    for (;;) {
        const auto before = w.sched.stats();
        w.sched.run_once(false);
        const auto& after = w.sched.stats();
        if (after.resumed == before.resumed && after.timers_fired == before.timers_fired &&
            after.dpcs_run == before.dpcs_run)
            return;
    }
}

void simulation::advance_to(world& w, time_point target) {
    while (step(w, target)) {
    }
    if (target > w.clock.now()) w.clock.advance_to(target);
    settle(w);
}

bool simulation::step(world& w, time_point limit) {
    settle(w);
    auto next = w.sched.timers().next_expiry();
    if (!next || *next > limit) return false;
    if (*next > w.clock.now()) w.clock.advance_to(*next);
    settle(w);
    return true;
}

} // namespace coronet::packetdrill
