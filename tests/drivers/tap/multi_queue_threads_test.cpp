// Queues of one TAP device on threads of their own, as shards use them: each thread runs
// its own scheduler, io_uring reactor, pool and tap_nic on its queue. Flows the kernel
// starts spread over the threads; a thread that transmits on a flow receives what the
// kernel sends on it next.
#include "tests/drivers/tap/mq_world.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <thread>

using namespace coronet;
using namespace coronet::test;

namespace {

// One queue's thread. The test thread hands it ports to send on (send_on) and reads the
// kernel ports of what it received (received), both under the mutex.
class queue_thread {
public:
    queue_thread(unsigned index, std::atomic<bool>& stop) : index_(index), stop_(stop) {
        thread_ = std::thread([this] { run(); });
        while (!ready_ && error().empty())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~queue_thread() { thread_.join(); }
    queue_thread(const queue_thread&) = delete;
    queue_thread& operator=(const queue_thread&) = delete;

    void send_on(std::uint16_t port) {
        std::lock_guard lock(mutex_);
        to_send_.push_back(port);
    }
    std::vector<std::uint16_t> received() {
        std::lock_guard lock(mutex_);
        return received_;
    }
    std::string error() {
        std::lock_guard lock(mutex_);
        return error_;
    }

private:
    void run() {
        try {
            scheduler sched;
            uring::uring_reactor reactor{sched};
            counter_registry counters;
            buffer_pool rx_pool({.buffer_size = 2048, .buffer_count = 256});
            buffer_pool tx_pool({.buffer_size = 2048, .buffer_count = 64});
            frame_catcher catcher;
            auto o = test_options();
            o.name = "cmq0";
            o.multi_queue = true;
            if (index_ > 0) o.mode = tap_open_mode::attach_queue;
            auto nic = make_object<tap_nic>(reactor, counters, rx_pool, o);
            nic->attach(&catcher);
            ready_ = true;
            while (!stop_) {
                sched.run_once(false);
                reactor.wait(std::chrono::milliseconds(5));
                std::lock_guard lock(mutex_);
                for (auto& f : catcher.frames)
                    if (auto u = as_l4(f)) received_.push_back(u->source);
                catcher.frames.clear();
                for (auto port : to_send_)
                    if (!nic->transmit(
                            packet_of(tx_pool, udp_from_coronet(port, std::to_string(index_)))))
                        error_ = "transmit refused";
                to_send_.clear();
            }
            nic->shutdown();
            for (int i = 0; i < 500 && !nic->stopped(); ++i) {
                sched.run_once(false);
                reactor.wait(std::chrono::milliseconds(10));
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            error_ = e.what();
        }
    }

    unsigned index_;
    std::atomic<bool>& stop_;
    std::atomic<bool> ready_{false};
    std::mutex mutex_;
    std::vector<std::uint16_t> to_send_, received_;
    std::string error_;
    std::thread thread_;
};

// Waits (polling, five seconds at most) until `pred` holds.
template <class Pred>
bool wait_for(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

} // namespace

TEST_CASE("two queues on two threads: flows spread, and follow the thread that transmits",
          "[drivers][tap][multi_queue]") {
    CORONET_ENTER_NETNS();
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<queue_thread>> threads;
    struct stopper {
        std::atomic<bool>& stop;
        ~stopper() { stop = true; }
    } stop_at_end{stop}; // declared after the threads: runs before they are joined
    for (unsigned i = 0; i < 2; ++i) {
        threads.push_back(std::make_unique<queue_thread>(i, stop));
        REQUIRE(threads.back()->error().empty());
    }
    REQUIRE(run({"ip", "addr", "add", "10.0.0.1/24", "dev", "cmq0"}).status == 0);
    REQUIRE(run({"ip", "neigh", "replace", "10.0.0.2", "lladdr", "02:c0:7e:00:00:02", "dev", "cmq0",
                 "nud", "permanent"})
                .status == 0);

    constexpr std::size_t flows = 32;
    std::vector<std::unique_ptr<udp_flow>> kernel;
    for (std::size_t i = 0; i < flows; ++i) {
        kernel.push_back(std::make_unique<udp_flow>(static_cast<std::uint16_t>(24000 + i)));
        kernel.back()->send("first");
    }
    auto arrivals = [&] {
        std::map<std::uint16_t, std::vector<unsigned>> by_port; // each arrival's thread
        for (unsigned t = 0; t < threads.size(); ++t)
            for (auto port : threads[t]->received())
                by_port[port].push_back(t);
        return by_port;
    };
    auto total = [&] {
        std::size_t n = 0;
        for (auto& [port, on] : arrivals())
            n += on.size();
        return n;
    };
    CHECK(wait_for([&] { return total() == flows; }));
    auto first = arrivals();
    REQUIRE(first.size() == flows);
    std::size_t on_thread_0 = 0;
    for (auto& [port, on] : first)
        on_thread_0 += on[0] == 0 ? 1 : 0;
    CAPTURE(on_thread_0);
    CHECK(on_thread_0 > 0);
    CHECK(on_thread_0 < flows);

    // The thread that did not receive a flow answers it; the kernel's next datagram of the
    // flow comes to that thread.
    for (auto& [port, on] : first)
        threads[1 - on[0]]->send_on(port);
    for (auto& f : kernel) {
        std::optional<std::string> answer;
        CHECK(wait_for([&] { return (answer = f->receive()).has_value(); }));
        CHECK(answer == std::to_string(1 - first[f->port()][0]));
        f->send("again");
    }
    CHECK(wait_for([&] { return total() == 2 * flows; }));
    std::size_t followed = 0;
    for (auto& [port, on] : arrivals())
        if (on.size() == 2 && on[1] == 1 - on[0]) ++followed;
    CHECK(followed == flows);
    for (auto& t : threads)
        CHECK(t->error().empty());
}
