#include "protocols/sim/harness.hpp"

#include "framework/sleep.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace coronet::sim {

namespace {
wire_config wire_for(const network_options& o) {
    // Faults come on after ARP has settled (the constructor), so a lost ARP reply cannot
    // fail the setup.
    return {.kind = o.hosts > 2 ? wire_kind::hub : wire_kind::point_to_point,
            .latency = o.latency,
            .bandwidth_bps = o.bandwidth_bps,
            .mtu = o.mtu};
}

std::string seconds(time_point t) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f s", static_cast<double>(t.since_epoch.count()) / 1e9);
    return buf;
}

// Counts the frames of the loop the network is inside (run(), a timed fault).
struct loop_guard {
    int& depth;
    explicit loop_guard(int& d) : depth(d) { ++depth; }
    ~loop_guard() { --depth; }
    loop_guard(const loop_guard&) = delete;
    loop_guard& operator=(const loop_guard&) = delete;
};

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : ", ") + x;
    return s;
}
} // namespace

std::uint64_t seed_from_env(std::uint64_t fallback) {
    const char* text = std::getenv("CORONET_SEED");
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const auto v = std::strtoull(text, &end, 0);
    return *end == '\0' ? v : fallback;
}

std::string run_result::describe() const {
    std::string s = finished ? "coronet sim: run finished" : "coronet sim: run failed";
    s += " at " + seconds(at) + " of virtual time";
    if (!hung.empty()) s += "; still running at the time limit: " + join(hung);
    if (!crashed.empty()) s += "; ended by an exception: " + join(crashed);
    return s + "; seed " + std::to_string(seed) + " (replay: CORONET_SEED=" + std::to_string(seed) +
           ")";
}

test_network::test_network(network_options opts)
    : opts_(std::move(opts)), world_({.seed = opts_.seed ? *opts_.seed : seed_from_env()}),
      link_(world_.add_wire(wire_for(opts_))), timers_(process::create("net/timers")),
      uncaught_(std::uncaught_exceptions()) {
    for (std::size_t i = 0; i < opts_.hosts; ++i) {
        auto& h = world_.add_host(std::string(1, static_cast<char>('a' + i)), opts_.host);
        world_.connect(h, link_, ipv4_prefix(address(h), 24), opts_.mtu);
    }
    for (const auto& from : world_.hosts())
        for (const auto& to : world_.hosts())
            if (from != to)
                (void)world_.run(from->stack().ping(address(*to), 56, std::chrono::seconds(1)));
    set_faults(opts_.faults);
    if (opts_.shaper)
        for (const auto& h : world_.hosts())
            (void)world_.shape(*h, *opts_.shaper);
}

test_network::~test_network() {
    if (std::uncaught_exceptions() > uncaught_)
        std::fprintf(
            stderr, "coronet sim: test failed with seed %llu (replay: CORONET_SEED=%llu)\n",
            static_cast<unsigned long long>(seed()), static_cast<unsigned long long>(seed()));
    std::vector<ref<process>*> all{&timers_};
    for (auto& p : clients_)
        all.push_back(&p);
    for (auto& p : servers_)
        all.push_back(&p);
    for (auto* p : all)
        (*p)->terminate("test network over");
    for (auto* p : all)
        world_.run((*p)->join());
}

ipv4_address test_network::address(const host& h) const {
    return ipv4_address(10, 0, 0, static_cast<std::uint8_t>(h.index() + 1));
}

process& test_network::spawn(host& h, body fn, std::string name, bool client) {
    auto p = h.create_process(std::move(name));
    process* raw = p.get();
    // The closure (and so fn and what it captured) lives in the task's frame.
    raw->spawn([fn = std::move(fn), raw]() -> task<void> { co_await fn(*raw); });
    (client ? clients_ : servers_).push_back(std::move(p));
    return *raw;
}

process& test_network::spawn_server(host& h, body fn, std::string name) {
    return spawn(h, std::move(fn), std::move(name), false);
}

process& test_network::spawn_client(host& h, body fn, std::string name) {
    return spawn(h, std::move(fn), std::move(name), true);
}

run_result test_network::run() {
    auto clients_done = [&] {
        for (const auto& c : clients_)
            if (c->running() != 0) return false;
        return true;
    };
    {
        const loop_guard in_loop(in_loop_);
        world_.run_until(clients_done, opts_.time_limit);
    }
    run_result r;
    r.seed = seed();
    r.at = world_.now();
    for (const auto& c : clients_)
        if (c->running() != 0) r.hung.push_back(c->name());
    for (const auto* list : {&clients_, &servers_})
        for (const auto& p : *list)
            if (!p->exit_reason().empty() && !ended_by_crash(*p)) r.crashed.push_back(p->name() + ": " + p->exit_reason());
    r.finished = r.hung.empty() && r.crashed.empty();
    if (!r.finished) std::fprintf(stderr, "%s\n", r.describe().c_str());
    return r;
}

void test_network::capture(host& h, const std::filesystem::path& path) {
    world_.capture(h.nic_at(0), path);
}

std::uint64_t test_network::counter(host& h, const std::string& group,
                                    const std::string& name) const {
    const auto* g = h.counters().find(group);
    const auto* c = g != nullptr ? g->find(name) : nullptr;
    return c != nullptr ? c->value : 0;
}

void test_network::partition(host& from, host& to, direction d) {
    link_.cut(from.nic_at(0), to.nic_at(0));
    if (d == direction::both) link_.cut(to.nic_at(0), from.nic_at(0));
}

void test_network::heal(host& from, host& to, direction d) {
    link_.heal(from.nic_at(0), to.nic_at(0));
    if (d == direction::both) link_.heal(to.nic_at(0), from.nic_at(0));
}

void test_network::at_time(duration after, std::function<void()> fn) {
    const auto when = world_.now() + after;
    timers_->spawn([this, fn = std::move(fn), when]() -> task<void> {
        auto slept = co_await sleep_until(when);
        if (!slept) co_return; // the network went first
        const loop_guard in_loop(in_loop_);
        fn();
    });
}

bool test_network::ended_by_crash(const process& p) const {
    return std::any_of(crashed_with_host_.begin(), crashed_with_host_.end(),
                       [&](const ref<process>& c) { return c.get() == &p; });
}

void test_network::crash(host& h) {
    auto ended = world_.crash(h);
    for (const auto& p : ended)
        crashed_with_host_.push_back(p);
    if (in_loop_ == 0) // from the test's own code: nothing runs the loop, so run it here
        for (const auto& p : ended)
            world_.run(p->join());
}

void test_network::restart(host& h) { world_.restart(h); }

void test_network::crash_after(duration d, host& h) {
    at_time(d, [this, &h] { crash(h); });
}

void test_network::restart_after(duration d, host& h) {
    at_time(d, [this, &h] { restart(h); });
}

void test_network::partition_after(duration after, host& from, host& to, direction d) {
    at_time(after, [this, &from, &to, d] { partition(from, to, d); });
}

void test_network::heal_after(duration after, host& from, host& to, direction d) {
    at_time(after, [this, &from, &to, d] { heal(from, to, d); });
}

std::string replay_check::describe() const {
    if (identical) return "captures identical (" + std::to_string(first_size) + " bytes)";
    return "captures differ: " + std::to_string(first_size) + " and " +
           std::to_string(second_size) + " bytes, first difference at byte " +
           std::to_string(first_difference);
}

std::string capture_of(const network_options& opts,
                       const std::function<void(test_network&)>& scenario) {
    static int runs = 0;
    const auto path =
        std::filesystem::temp_directory_path() /
        ("coronet-replay-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) + ".pcap");
    {
        test_network net(opts);
        net.capture(path);
        scenario(net);
    } // the world goes: the capture is complete
    std::ifstream f(path, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(f), {}};
    std::filesystem::remove(path);
    return bytes;
}

replay_check run_twice(const network_options& opts,
                       const std::function<void(test_network&)>& scenario) {
    network_options fixed = opts;
    if (!fixed.seed) fixed.seed = seed_from_env();
    const auto first = capture_of(fixed, scenario);
    const auto second = capture_of(fixed, scenario);
    replay_check r{
        .identical = first == second, .first_size = first.size(), .second_size = second.size()};
    while (r.first_difference < first.size() && r.first_difference < second.size() &&
           first[r.first_difference] == second[r.first_difference])
        ++r.first_difference;
    if (!r.identical)
        std::fprintf(stderr, "coronet sim: seed %llu: %s\n",
                     static_cast<unsigned long long>(*fixed.seed), r.describe().c_str());
    return r;
}

} // namespace coronet::sim
