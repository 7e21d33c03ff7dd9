// Provided-buffer rings: reads land in the registered buffers, recycle() makes a buffer
// usable again, and a standing read (multishot, or re-armed single reads) delivers chunk
// after chunk until stopped.
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"
#include "tests/framework/uring_fixture.hpp"

#include <array>
#include <catch2/catch.hpp>
#include "tests/skip.hpp"
#include <string>
#include <unistd.h>
#include <vector>

using namespace coronet;
using test::pipe_fds;
using world = test::uring_world;
namespace uring = coronet::uring;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

std::string text(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

task<result<uring::selected_buffer>> read_into_ring(int fd, uring::provided_buffer_ring& ring) {
    co_return co_await uring::read_selected(fd, ring);
}

// Runs the loop until pred() holds. A standing read's handler makes no coroutine ready, and
// scheduler::run_once blocks when none is, even after handling completions; so this
// turns the loop without blocking and waits in the reactor itself (one second at most
// per wait, so a lost completion fails the test instead of hanging it).
template <class Pred>
bool pump_until(world& w, Pred pred) {
    for (int i = 0; i < 50 && !pred(); ++i) {
        w.sched.run_once(false);
        if (!pred()) w.reactor.wait(std::chrono::seconds(1));
    }
    return pred();
}

// What a standing read's handler saw.
struct chunk_log {
    explicit chunk_log(uring::provided_buffer_ring& r) : ring(&r) {}
    uring::provided_buffer_ring* ring;
    std::vector<std::string> chunks;
    std::vector<bool> more;
    int last_error = 0;
    bool ended = false;
};

void log_chunk(uring::standing_read& self, result<uring::selected_buffer> res, bool more) {
    auto& log = *static_cast<chunk_log*>(self.context());
    log.more.push_back(more);
    if (res) {
        log.chunks.push_back(text(log.ring->data(*res)));
        if (res->size > 0) log.ring->recycle(res->id);
    } else {
        log.last_error = res.error();
    }
    if (!more) log.ended = true;
}

// Writes three chunks, letting the reactor deliver each before the next, then stops.
void three_chunks_then_stop(world& w, pipe_fds& p, uring::standing_read& rd, chunk_log& log) {
    rd.start();
    w.sched.run_once(false);
    for (std::string c : {"one", "two", "three"}) {
        auto before = log.chunks.size();
        p.put(c);
        pump_until(w, [&] { return log.chunks.size() > before; });
    }
    CHECK(rd.active());
    rd.stop();
    pump_until(w, [&] { return log.ended; });
    CHECK(log.chunks == std::vector<std::string>{"one", "two", "three"});
    CHECK(log.more == std::vector<bool>{true, true, true, false});
    CHECK(log.last_error == ECANCELED);
    CHECK_FALSE(rd.active());
    pump_until(w, [&] { return rd.idle(); });
    CHECK(rd.idle());
}

} // namespace

TEST_CASE("the kernel's support for multishot read is probed at run time", "[uring][buffer_ring]") {
    world w;
    // Kernel 6.7 added IORING_OP_READ_MULTISHOT; READ itself has been there since 5.6.
    CHECK(w.reactor.supports(IORING_OP_READ));
    CHECK_FALSE(w.reactor.supports(100000));
    WARN("multishot read supported by this kernel: " << (w.reactor.supports_multishot_read() ? "yes" : "no"));
}

TEST_CASE("reads with buffer selection land in the registered buffers", "[uring][buffer_ring]") {
    world w;
    pipe_fds p;
    std::array<std::byte, 4 * 64> region{};
    uring::provided_buffer_ring ring(w.reactor, 7, region, 64, 4);
    CHECK(ring.group() == 7);
    CHECK(ring.count() == 4);

    std::vector<std::uint16_t> ids;
    for (std::string msg : {"alpha", "beta", "gamma", "delta"}) {
        p.put(msg);
        auto b = w.sched.run(read_into_ring(p.r, ring));
        REQUIRE(b);
        CHECK(text(ring.data(*b)) == msg);
        // The bytes are in the caller's region, at the buffer's place.
        CHECK(ring.data(*b).data() == region.data() + b->id * 64);
        ids.push_back(b->id);
    }
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::uint16_t>{0, 1, 2, 3});

    // Every buffer is taken: the next read finds none.
    p.put("epsilon");
    auto none = w.sched.run(read_into_ring(p.r, ring));
    CHECK(none.error() == ENOBUFS);

    // Posting one back makes it usable again; the unread bytes are still in the pipe.
    ring.recycle(2);
    auto again = w.sched.run(read_into_ring(p.r, ring));
    REQUIRE(again);
    CHECK(again->id == 2);
    CHECK(text(ring.data(*again)) == "epsilon");
    CHECK(ring.recycled() == 1);
}

TEST_CASE("a read with buffer selection at end of file consumes no buffer", "[uring][buffer_ring]") {
    world w;
    pipe_fds p;
    std::array<std::byte, 2 * 32> region{};
    uring::provided_buffer_ring ring(w.reactor, 1, region, 32, 2);
    ::close(p.w);
    p.w = -1;
    auto eof = w.sched.run(read_into_ring(p.r, ring));
    REQUIRE(eof);
    CHECK(eof->size == 0);
}

TEST_CASE("a buffer ring refuses a region too small for its buffers", "[uring][buffer_ring]") {
    world w;
    std::array<std::byte, 100> region{};
    CHECK_THROWS_AS(uring::provided_buffer_ring(w.reactor, 1, region, 64, 2), std::invalid_argument);
    CHECK_THROWS_AS(uring::provided_buffer_ring(w.reactor, 1, region, 64, 0), std::invalid_argument);
}

TEST_CASE("a multishot standing read delivers several completions from one submission", "[uring][buffer_ring]") {
    world w;
    if (!w.reactor.supports_multishot_read()) {
        CORONET_SKIP("kernel without IORING_OP_READ_MULTISHOT");
    }
    pipe_fds p;
    std::array<std::byte, 8 * 64> region{};
    uring::provided_buffer_ring ring(w.reactor, 3, region, 64, 8);
    chunk_log log{ring};
    uring::standing_read rd(w.reactor, p.r, ring, &log_chunk, &log);
    CHECK(rd.multishot());
    auto submitted = w.reactor.stats().submitted;
    three_chunks_then_stop(w, p, rd, log);
    // One read SQE and one cancel SQE for four completions.
    CHECK(w.reactor.stats().submitted - submitted == 2);
}

TEST_CASE("without multishot, a standing read re-arms single reads with buffer selection", "[uring][buffer_ring]") {
    world w;
    pipe_fds p;
    std::array<std::byte, 8 * 64> region{};
    uring::provided_buffer_ring ring(w.reactor, 4, region, 64, 8);
    chunk_log log{ring};
    uring::standing_read rd(w.reactor, p.r, ring, &log_chunk, &log);
    rd.prefer_multishot(false);
    CHECK_FALSE(rd.multishot());
    three_chunks_then_stop(w, p, rd, log);
}

TEST_CASE("a standing read with no buffer posted ends with ENOBUFS and can be re-armed", "[uring][buffer_ring]") {
    world w;
    pipe_fds p;
    std::array<std::byte, 64> region{};
    uring::provided_buffer_ring ring(w.reactor, 5, region, 64, 1);
    struct state {
        uring::provided_buffer_ring* ring;
        std::vector<int> errors;
        std::vector<std::uint16_t> held;
        std::string data;
    } st{&ring, {}, {}, {}};
    // Keeps the buffers it gets (a stack holding packets) until told to let go.
    auto keep = [](uring::standing_read& self, result<uring::selected_buffer> res, bool) {
        auto& s = *static_cast<state*>(self.context());
        if (!res) {
            s.errors.push_back(res.error());
            return;
        }
        s.data += text(s.ring->data(*res));
        s.held.push_back(res->id);
    };
    uring::standing_read rd(w.reactor, p.r, ring, keep, &st);
    rd.start();
    p.put("a");
    pump_until(w, [&] { return !st.data.empty(); });
    p.put("b");
    pump_until(w, [&] { return !st.errors.empty(); });
    CHECK(st.errors == std::vector<int>{ENOBUFS});
    CHECK_FALSE(rd.active());

    ring.recycle(st.held.front());
    rd.start();
    pump_until(w, [&] { return st.data == "ab"; });
    CHECK(st.data == "ab");
    rd.stop();
    pump_until(w, [&] { return rd.idle(); });
}

TEST_CASE("a background standing read does not count as pending", "[uring][buffer_ring][background]") {
    world w;
    pipe_fds p;
    std::array<std::byte, 2 * 64> region{};
    uring::provided_buffer_ring ring(w.reactor, 6, region, 64, 2);
    chunk_log log{ring};
    uring::standing_read rd(w.reactor, p.r, ring, &log_chunk, &log);
    rd.set_background(true);
    rd.start();
    w.sched.run_once(false);
    CHECK(w.reactor.in_flight() == 1);
    CHECK(w.reactor.pending() == 0);
    // Not pending, yet active: on a real clock the loop still waits for it (a frame may
    // come), it only cannot hold back a virtual clock.
    CHECK(w.reactor.active());
    CHECK(w.sched.run_once(false));
    rd.stop();
    CHECK(pump_until(w, [&] { return rd.idle(); }));
    CHECK(log.last_error == ECANCELED);
}
