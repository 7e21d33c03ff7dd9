#include "framework/shard/shard.hpp"

#include "framework/uring/reactor.hpp"

#include <cerrno>
#include <pthread.h>
#include <sched.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace coronet {
namespace {

thread_local shard* current_shard = nullptr;

// Makes `s` the current shard and its scheduler the current one, for one turn of a
// simulation (or a whole thread).
class shard_turn {
public:
    explicit shard_turn(shard& s) noexcept : sched_(s.sched()), previous_(current_shard) {
        current_shard = &s;
    }
    ~shard_turn() { current_shard = previous_; }
    shard_turn(const shard_turn&) = delete;
    shard_turn& operator=(const shard_turn&) = delete;

private:
    scheduler::activation sched_;
    shard* previous_;
};

} // namespace

// The eventfd read that wakes a shard's thread: always posted while the loop runs, in the
// background (it may wait forever), re-armed from each completion.
struct shard::doorbell {
    struct read_request : uring::io_request {
        explicit read_request(shard& s) noexcept : io_request(&on_cqe), owner(s) {
            set_background(true);
        }
        shard& owner;
        std::uint64_t value = 0;
    };
    explicit doorbell(shard& s) : read(s) {}
    void arm() {
        io_uring_prep_read(read.sqe(), read.owner.eventfd_, &read.value, sizeof read.value, 0);
        read.owner.reactor_->submit(read);
    }
    static void on_cqe(uring::io_completion* c, int, std::uint32_t) {
        auto& r = *static_cast<read_request*>(c);
        doorbell& self = *r.owner.doorbell_;
        if (self.stopping) return;
        r.owner.rung();
        self.arm();
    }
    read_request read;
    bool stopping = false;
};

// A submit_to caller waiting for one of max_in_flight call slots; release_call_slot hands
// it the slot of the call that ended (no late caller overtakes it).
struct shard::slot_waiter
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
    slot_waiter(shard& s, unsigned to) noexcept : owner(s), destination(to) {}
    ~slot_waiter() {
        if (woken && !resumed) { // destroyed between its wake-up and its turn: the slot goes on
            owner.sched().unschedule(node);
            owner.release_call_slot(destination);
        }
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        node.handle = h;
        owner.slot_waiters_[destination]->push_back(*this);
    }
    void await_resume() noexcept { resumed = true; }

    shard& owner;
    unsigned destination;
    ready_node node;
    bool woken = false;
    bool resumed = false;
};

shard::shard(shard_group& g, unsigned id) : group_(g), id_(id), calls_in_flight_(g.opts_.count, 0) {
    slot_waiters_.reserve(g.opts_.count);
    for (unsigned i = 0; i < g.opts_.count; ++i)
        slot_waiters_.push_back(
            std::make_unique<typename decltype(slot_waiters_)::value_type::element_type>());
    if (g.opts_.mode == shard_mode::threads) {
        eventfd_ = ::eventfd(0, EFD_CLOEXEC);
        if (eventfd_ < 0)
            throw std::system_error(errno, std::generic_category(),
                                    "eventfd for a shard's doorbell");
    }
}

shard::~shard() {
    if (eventfd_ >= 0) ::close(eventfd_);
}

unsigned shard::count() const noexcept { return group_.size(); }

shard& shard::current() {
    if (current_shard == nullptr) throw std::logic_error("coronet: no shard runs on this thread");
    return *current_shard;
}
shard* shard::current_or_null() noexcept { return current_shard; }

task<void> shard::acquire_call_slot(unsigned to) {
    if (calls_in_flight_[to] < group_.opts_.max_in_flight && slot_waiters_[to]->empty()) {
        ++calls_in_flight_[to];
        co_return;
    }
    ++stats_.call_waits;
    slot_waiter w(*this, to);
    co_await w; // woken holding the slot of a call that ended
}

void shard::release_call_slot(unsigned to) noexcept {
    auto& waiting = *slot_waiters_[to];
    if (waiting.empty()) {
        --calls_in_flight_[to];
        return;
    }
    slot_waiter& w = waiting.front();
    waiting.pop_front();
    w.woken = true;
    sched().schedule(w.node);
}

void shard::sent(unsigned to) noexcept {
    ++stats_.sent;
    notify(to);
}

void shard::send(unsigned to, shard_message* m) noexcept {
    // Room is guaranteed: calls are bounded per pair and the ring is sized for them and
    // their replies (the top of shard.hpp). A full ring here is a bug.
    if (!group_.ring(id_, to).push(m)) std::terminate();
    sent(to);
}

bool shard::post(unsigned to, shard_message* m) noexcept {
    auto& r = group_.ring(id_, to);
    const std::size_t reserved = 2 * std::size_t{group_.opts_.max_in_flight};
    if (r.occupancy() + reserved >= r.capacity() || !r.push(m)) {
        ++stats_.posts_refused;
        return false;
    }
    sent(to);
    return true;
}

void shard::notify(unsigned to) noexcept {
    shard& target = group_.at(to);
    if (to == id_ || group_.opts_.mode == shard_mode::simulated) { // the same thread
        target.sched().queue_dpc(target.inbox_);
        return;
    }
    // Pairs with rung(): either the receiver's drain sees this message, or it has cleared
    // the flag and this exchange sees that and rings again.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!target.notified_.exchange(true, std::memory_order_acq_rel)) {
        ++stats_.doorbells;
        target.wake();
    }
}

void shard::wake() noexcept {
    std::uint64_t one = 1;
    (void)!::write(eventfd_, &one, sizeof one);
}

void shard::rung() noexcept {
    notified_.store(false, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    sched().queue_dpc(inbox_);
}

bool shard::inbox_dpc::run(dpc* d, unsigned) {
    auto& self = static_cast<inbox_dpc&>(*d);
    return self.owner->drain(self.owner->group_.opts_.inbox_budget);
}

bool shard::drain(unsigned budget) {
    const unsigned n = count();
    unsigned handled = 0;
    for (unsigned k = 0; k < n && handled < budget; ++k) {
        auto& r = group_.ring((next_peer_ + k) % n, id_);
        while (handled < budget) {
            shard_message* m = r.pop();
            if (m == nullptr) break;
            ++handled;
            ++stats_.received;
            m->deliver(*this);
        }
    }
    next_peer_ = (next_peer_ + 1) % n;
    return handled >= budget; // there may be more: run again after other work
}

void shard::start_thread_loop() {
    sched_.emplace();
    reactor_ = std::make_unique<uring::uring_reactor>(*sched_);
    doorbell_ = std::make_unique<doorbell>(*this);
    doorbell_->arm();
    current_shard = this;
}

void shard::stop_thread_loop() {
    doorbell_->stopping = true;
    wake(); // completes the posted read
    sched_->run_until([&] { return !doorbell_->read.in_flight() && !doorbell_->read.queued(); });
    current_shard = nullptr;
    doorbell_.reset();
    reactor_.reset();
    sched_.reset();
}

shard_group::shard_group(shard_options opts) : opts_(opts), cpus_(usable_cpus()) {
    if (opts_.count == 0) opts_.count = static_cast<unsigned>(cpus_.empty() ? 1 : cpus_.size());
    if (opts_.max_in_flight == 0)
        throw std::invalid_argument("shard_options: max_in_flight must be at least 1");
    if (opts_.mode == shard_mode::simulated) {
        if (opts_.clock == nullptr) own_clock_ = std::make_unique<virtual_clock>();
        clock_ = opts_.clock ? opts_.clock : own_clock_.get();
    }
    const std::size_t capacity = 2 * std::size_t{opts_.max_in_flight} + opts_.post_slots;
    rings_.reserve(std::size_t{opts_.count} * opts_.count);
    for (std::size_t i = 0; i < std::size_t{opts_.count} * opts_.count; ++i)
        rings_.push_back(std::make_unique<spsc_ring<shard_message>>(capacity));
    shards_.reserve(opts_.count);
    for (unsigned i = 0; i < opts_.count; ++i)
        shards_.push_back(std::unique_ptr<shard>(new shard(*this, i)));
}

shard_group::~shard_group() {
    // Messages sent after their receiver stopped (the group is done): never delivered.
    for (auto& r : rings_)
        while (shard_message* m = r->pop())
            delete m;
}

std::vector<int> shard_group::usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

void shard_group::finished_one() {
    if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == size())
        for (auto& s : shards_)
            s->wake(); // every loop looks at the count again
}

void shard_group::run_threads(const std::function<void(shard&)>& main) {
    if (opts_.mode != shard_mode::threads)
        throw std::logic_error("shard_group::run_threads needs shard_mode::threads");
    finished_.store(0);
    std::vector<std::exception_ptr> errors(size());
    std::vector<std::thread> threads;
    threads.reserve(size());
    for (unsigned i = 0; i < size(); ++i)
        threads.emplace_back([this, i, &main, &errors] {
            shard& s = *shards_[i];
            if (opts_.pin && !cpus_.empty()) {
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpus_[i % cpus_.size()], &one);
                (void)::pthread_setaffinity_np(::pthread_self(), sizeof one, &one); // best effort
            }
            try {
                s.start_thread_loop();
            } catch (...) {
                errors[i] = std::current_exception();
                finished_one();
                return; // this shard never ran: nobody may message it (its main did not start)
            }
            try {
                main(s);
            } catch (...) {
                errors[i] = std::current_exception();
            }
            finished_one();
            // Others may still call on this shard until every main has returned.
            s.sched().run_until(
                [&] { return finished_.load(std::memory_order_acquire) == size(); });
            s.stop_thread_loop();
        });
    for (auto& t : threads)
        t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

void shard_group::run(const std::function<task<void>(shard&)>& main) {
    if (opts_.mode == shard_mode::simulated) {
        run_simulated(main);
        return;
    }
    run_threads([&](shard& s) { s.sched().run(main(s)); });
}

void shard_group::run_simulated(const std::function<task<void>(shard&)>& main) {
    const unsigned n = size();
    for (auto& s : shards_)
        s->sched_.emplace(scheduler::options{.time_source = clock_});
    // Schedulers restore the thread's previous one when destroyed: newest first.
    struct teardown {
        std::vector<std::unique_ptr<shard>>& shards;
        ~teardown() {
            for (auto it = shards.rbegin(); it != shards.rend(); ++it)
                (*it)->sched_.reset();
        }
    } on_exit{shards_};

    std::vector<task<void>> tasks;
    tasks.reserve(n);
    std::vector<std::exception_ptr> errors(n);
    auto done = std::make_unique<bool[]>(n);
    std::vector<std::coroutine_handle<>> roots;
    for (unsigned i = 0; i < n; ++i) {
        shard_turn turn(*shards_[i]);
        tasks.push_back(main(*shards_[i]));
        roots.push_back(detail::run_root<void>(tasks.back(), nullptr, &errors[i], &done[i]).handle);
        roots.back().resume();
    }
    auto all_done = [&] {
        for (unsigned i = 0; i < n; ++i)
            if (!done[i]) return false;
        return true;
    };
    for (;;) {
        bool worked = false;
        for (auto& s : shards_) {
            shard_turn turn(*s);
            worked |= s->sched().step();
        }
        if (worked) continue;
        if (all_done()) break;
        std::optional<time_point> next;
        for (auto& s : shards_)
            if (auto t = s->sched().next_timer(); t && (!next || *t < *next)) next = t;
        if (!next) {
            for (unsigned i = 0; i < n; ++i)
                if (!done[i]) {
                    shard_turn turn(*shards_[i]);
                    roots[i].destroy();
                }
            throw deadlock_error("coronet: every shard waits for something that can never happen");
        }
        if (*next > clock_->now()) clock_->advance_to(*next);
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

} // namespace coronet
