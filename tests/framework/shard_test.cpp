// Shards and the calls between them (framework/shard): on one thread on virtual time, where
// every interleaving is fixed by the shard order, and on real threads.
#include "framework/coronet.hpp"
#include "framework/shard/shard.hpp"
#include "framework/shard/submit.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

shard_options simulated(unsigned count) { return {.count = count, .mode = shard_mode::simulated}; }

// A log of what ran where and when, for comparing two runs.
std::vector<std::string> ping_pong_trace(unsigned count) {
    std::vector<std::string> trace;
    shard_group group(simulated(count));
    group.run([&](shard& s) -> task<void> {
        for (int round = 0; round < 3; ++round) {
            const unsigned to = (s.id() + 1 + round) % s.count();
            const unsigned from = s.id();
            int answer = co_await submit_to(to, [from, round, &trace]() -> task<int> {
                (void)co_await sleep_for(std::chrono::milliseconds(1 + (from + round) % 3));
                trace.push_back(std::to_string(from) + ">" + std::to_string(shard::current().id()) +
                                " at " +
                                std::to_string(scheduler::current().now().since_epoch.count()));
                co_return int(from * 10 + round);
            });
            if (answer != int(from * 10 + round)) throw std::runtime_error("wrong answer");
        }
    });
    return trace;
}

} // namespace

TEST_CASE("submit_to runs the function on the other shard and brings its value back", "[shard]") {
    shard_group group(simulated(4));
    std::vector<unsigned> ran_on(4, 99);
    std::vector<int> got(4, 0);
    group.run([&](shard& s) -> task<void> {
        const unsigned to = (s.id() + 1) % 4;
        got[s.id()] = co_await submit_to(to, [&ran_on, to] {
            ran_on[to] = shard::current().id();
            return int(to) * 100;
        });
    });
    for (unsigned i = 0; i < 4; ++i) {
        CHECK(ran_on[i] == i);
        CHECK(got[i] == int((i + 1) % 4) * 100);
        CHECK(group.at(i).stats().sent == 2); // a request and a reply
        CHECK(group.at(i).stats().received == 2);
    }
}

TEST_CASE("submit_to takes tasks, void functions and exceptions, and runs inline on its own shard",
          "[shard]") {
    shard_group group(simulated(2));
    bool done = false;
    group.run([&](shard& s) -> task<void> {
        if (s.id() != 0) co_return;
        time_point before = scheduler::current().now();
        std::string text = co_await submit_to(1, []() -> task<std::string> {
            (void)co_await sleep_for(5ms);
            co_return "slept on " + std::to_string(shard::current().id());
        });
        CHECK(text == "slept on 1");
        CHECK(scheduler::current().now() - before == 5ms);
        unsigned where = 99;
        co_await submit_to(1, [&where] { where = shard::current().id(); });
        CHECK(where == 1);
        bool threw = false;
        try {
            co_await submit_to(1, []() -> int { throw std::runtime_error("on shard 1"); });
        } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "on shard 1";
        }
        CHECK(threw);
        const auto sent_before = s.stats().sent;
        int local = co_await submit_to(0, [] { return 7; });
        CHECK(local == 7);
        CHECK(s.stats().sent == sent_before); // no message to itself
        bool out_of_range = false;
        try {
            co_await submit_to(2, [] { return 0; });
        } catch (const std::out_of_range&) {
            out_of_range = true;
        }
        CHECK(out_of_range);
        done = true;
    });
    CHECK(done);
}

TEST_CASE("invoke_on_all and map_reduce reach every shard", "[shard]") {
    shard_group group(simulated(3));
    std::vector<int> touched(3, 0);
    long total = 0;
    group.run([&](shard& s) -> task<void> {
        if (s.id() != 2) co_return;
        co_await invoke_on_all([&touched] { ++touched[shard::current().id()]; });
        total = co_await map_reduce([] { return long(shard::current().id()) + 1; }, 100L,
                                    [](long a, long b) { return a + b; });
    });
    CHECK(touched == std::vector<int>{1, 1, 1});
    CHECK(total == 106);
}

TEST_CASE("a simulated multi-shard run replays exactly", "[shard]") {
    auto first = ping_pong_trace(3);
    auto second = ping_pong_trace(3);
    CHECK(first.size() == 9);
    CHECK(first == second);
}

TEST_CASE("calls beyond max_in_flight wait for a slot; none is lost", "[shard]") {
    shard_options o = simulated(2);
    o.max_in_flight = 4;
    shard_group group(o);
    int running = 0, most_running = 0;
    long sum = 0;
    group.run([&](shard& s) -> task<void> {
        if (s.id() != 0) co_return;
        std::vector<task<int>> calls;
        for (int i = 0; i < 100; ++i)
            calls.push_back(submit_to(1, [i, &running, &most_running]() -> task<int> {
                ++running;
                most_running = std::max(most_running, running);
                (void)co_await sleep_for(1ms);
                --running;
                co_return i;
            }));
        auto results = co_await when_all(std::move(calls));
        for (int r : results)
            sum += r;
    });
    CHECK(sum == 4950);
    CHECK(most_running == 4);
    CHECK(group.at(0).stats().call_waits == 96);
}

TEST_CASE("try_post refuses once its room is full, and delivers the rest in order", "[shard]") {
    shard_options o = simulated(2);
    o.max_in_flight = 1; // 2 slots kept for calls and replies
    o.post_slots = 14;   // ring of 16
    shard_group group(o);
    std::vector<int> delivered;
    int accepted = 0;
    group.run([&](shard& s) -> task<void> {
        if (s.id() != 0) co_return;
        for (int i = 0; i < 100; ++i)
            if (try_post(1, [i, &delivered] { delivered.push_back(i); })) ++accepted;
        co_await yield{};
    });
    CHECK(accepted == 14); // post_slots: the ring's 16 less the 2 kept for calls and replies
    CHECK(group.at(0).stats().posts_refused == 86);
    REQUIRE(delivered.size() == 14);
    for (int i = 0; i < 14; ++i)
        CHECK(delivered[i] == i);
}

TEST_CASE("a simulated group with every shard waiting forever is a deadlock", "[shard]") {
    shard_group group(simulated(2));
    auto wait_forever = [](shard&) -> task<void> {
        event never;
        (void)co_await never.wait();
    };
    CHECK_THROWS_AS(group.run(wait_forever), deadlock_error);
}

TEST_CASE("shards on threads: ping-pong both ways, doorbells batched", "[shard][threads]") {
    shard_group group({.count = 2});
    std::atomic<long> sums[2] = {0, 0};
    std::atomic<unsigned> threads_seen[2] = {0, 0};
    constexpr int calls = 20000;
    group.run([&](shard& s) -> task<void> {
        const unsigned other = 1 - s.id();
        long sum = 0;
        std::vector<task<int>> batch;
        for (int i = 0; i < calls; ++i) {
            batch.push_back(submit_to(other, [i, &threads_seen] {
                threads_seen[shard::current().id()].fetch_add(1, std::memory_order_relaxed);
                return i;
            }));
            if (batch.size() == 64 || i == calls - 1) {
                std::vector<int> values = co_await when_all(std::move(batch));
                for (int v : values)
                    sum += v;
                batch.clear();
            }
        }
        sums[s.id()] = sum;
    });
    const long expected = long(calls) * (calls - 1) / 2;
    CHECK(sums[0] == expected);
    CHECK(sums[1] == expected);
    CHECK(threads_seen[0] == calls);
    CHECK(threads_seen[1] == calls);
    for (unsigned i = 0; i < 2; ++i) {
        CHECK(group.at(i).stats().sent == 2u * calls);
        CHECK(group.at(i).stats().received == 2u * calls);
        CHECK(group.at(i).stats().doorbells < group.at(i).stats().sent);
    }
}

TEST_CASE("shards on threads: a main that throws ends its shard only; run rethrows after all",
          "[shard][threads]") {
    shard_group group({.count = 2});
    std::atomic<int> served{0};
    auto main = [&](shard& s) -> task<void> {
        if (s.id() == 0) throw std::runtime_error("shard 0 crashed");
        (void)co_await sleep_for(20ms); // shard 0 has long crashed: shard 1 goes on
        for (int i = 0; i < 100; ++i) {
            int one =
                co_await submit_to(0, [] { return 1; }); // a crashed main's shard still answers
            served += one;
        }
    };
    CHECK_THROWS_WITH(group.run(main), "shard 0 crashed");
    CHECK(served == 100);
}
