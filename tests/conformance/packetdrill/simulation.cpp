#include "tests/conformance/packetdrill/simulation.hpp"

#include <charconv>
#include <cstring>
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
    for (;;) {
        if (run([&](world& w) { return done(w); })) return;
        std::unique_lock l(m_);
        const auto seen = progress_;
        // Another thread's job may finish it; with no job at all for idle_step, time passes.
        if (!done_cv_.wait_for(l, idle_step, [&] { return progress_ != seen; })) {
            l.unlock();
            run([](world& w) { (void)step(w, w.clock.now() + std::chrono::hours(24)); });
        }
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
