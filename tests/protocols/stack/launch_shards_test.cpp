// run_server with several cores on the host stack, over loopback: every shard runs the server
// in its own process on its own thread and listens on the same port (SO_REUSEPORT); kernel
// clients reach both; finish_all ends all shards, closing the connections still open; a
// handle of one shard's process is refused by another's (EBADF); a shard whose server
// crashes ends alone.
#include "framework/coronet.hpp"
#include "framework/shard/shard.hpp"
#include "framework/shard/submit.hpp"
#include "framework/uring/ops.hpp"
#include "protocols/stack/launch.hpp"
#include "tests/drivers/host_shards.hpp"

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

using namespace coronet;

namespace {

// A port of 127.0.0.1 nobody listens on now (the kernel's pick, released for the server).
std::uint16_t free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(s);
    return ntohs(sa.sin_port);
}

// The run: cores host-stack shards echoing on one port. Shard 0 also reads a pipe: a byte
// there makes it call finish_all(the byte). `crash_shard` (if set) throws at once.
struct sharded_echo {
    unsigned cores = 2;
    int crash_shard = -1;
    std::uint16_t port = free_port();
    int control[2] = {-1, -1};
    std::array<int, 8> accepted{}; // slot i written only by shard i
    std::array<std::size_t, 8> echoed{};
    std::atomic<unsigned> listening{0};
    std::array<process*, 8> processes{}; // slot i written only by shard i
    // What shard 1's process said to a handle of shard 0's (0: it took it).
    std::atomic<int> foreign_handle_error{-1};
    int rc = -1;
    std::thread runner;

    sharded_echo(unsigned n, int crash) : cores(n), crash_shard(crash) {
        REQUIRE(::pipe2(control, O_CLOEXEC) == 0);
        stack_options o;
        o.stack = stack_kind::host;
        o.cores = cores;
        o.stop_on_signals = false;
        runner = std::thread(
            [this, o] { rc = run_server(o, [this](server_context& ctx) { return serve(ctx); }); });
    }
    ~sharded_echo() {
        if (runner.joinable()) finish(0);
        ::close(control[0]);
        ::close(control[1]);
    }
    void finish(int code) {
        const auto b = static_cast<unsigned char>(code);
        REQUIRE(::write(control[1], &b, 1) == 1);
        runner.join();
    }

    task<void> serve(server_context& ctx) {
        if (int(ctx.shard_id) == crash_shard) throw std::runtime_error("crashed on purpose");
        process& p = ctx.proc;
        const unsigned me = ctx.shard_id;
        if (me == 0)
            p.spawn([](server_context& c, int fd) -> task<void> {
                std::array<std::byte, 1> b{};
                auto n = co_await uring::read(fd, b);
                c.finish_all(n && *n == 1 ? int(b[0]) : 99);
            }(ctx, control[0]));
        auto ls = co_await p.listen({test::loopback, port}, {.backlog = 1024});
        if (!ls) throw std::runtime_error("listen: " + ls.message());
        processes[me] = &p;
        listening.fetch_add(1);
        if (me == 0 && cores > 1 && crash_shard < 0) {
            while (listening.load() < cores)
                (void)co_await sleep_for(std::chrono::milliseconds(1));
            // A handle means something only in the table that issued it: shard 1's process
            // refuses shard 0's listener (its table id is not shard 1's), as any process would.
            const handle mine = *ls;
            foreign_handle_error = co_await submit_to(1, [this, mine]() -> task<int> {
                auto r = co_await processes[1]->get_socket_name(mine);
                co_return r ? 0 : r.error();
            });
        }
        for (;;) {
            auto conn = co_await p.accept(*ls);
            if (!conn) co_return; // the process is ending
            ++accepted[me];
            p.spawn(test::echo(p, *conn, echoed[me]));
        }
    }
};

// Connects `n` kernel clients one after another (each makes a new flow for the kernel's
// reuse_port hash) and counts those whose bytes came back exact.
int exact_round_trips(std::uint16_t port, int n) {
    std::vector<std::byte> bytes(1000);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::byte(i * 7);
    int exact = 0;
    for (int i = 0; i < n; ++i) {
        test::kernel_client c({test::loopback, port});
        if (c.connected && c.round_trip(bytes)) ++exact;
    }
    return exact;
}

// Until `n` shards listen (bounded: a shard that never does fails the test's counts).
void wait_listening(const sharded_echo& run, unsigned n) {
    for (int i = 0; i < 1000 && run.listening.load() < n; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

} // namespace

TEST_CASE("two host-stack shards share one port; finish_all ends both with its code",
          "[launch][shards]") {
    sharded_echo run(2, -1);
    wait_listening(run, 2);
    const int exact = exact_round_trips(run.port, 64);
    // Eight more stay connected, each served once, while the run ends: every shard's process
    // closes them (a reader sees end of file or a reset, not its 5 s timeout).
    std::vector<std::unique_ptr<test::kernel_client>> open;
    std::vector<std::byte> one_byte(1, std::byte{42});
    int served_once = 0;
    for (int i = 0; i < 8; ++i) {
        open.push_back(std::make_unique<test::kernel_client>(endpoint{test::loopback, run.port}));
        served_once += open.back()->connected && open.back()->round_trip(one_byte);
    }
    run.finish(7);
    int closed_by_server = 0;
    for (auto& c : open) {
        std::byte b{};
        const ssize_t n = ::recv(c->fd, &b, 1, 0);
        closed_by_server += n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    CHECK(exact == 64);
    CHECK(served_once == 8);
    CHECK(closed_by_server == 8);
    CHECK(run.rc == 7);
    CHECK(run.foreign_handle_error == EBADF);
    const int served = run.accepted[0] + run.accepted[1];
    CHECK(served == 64 + 8);
    CHECK(run.accepted[0] > 0);
    CHECK(run.accepted[1] > 0);
    CHECK(run.echoed[0] + run.echoed[1] == 64 * 1000 + 8);
}

TEST_CASE("a shard whose server crashes ends alone; the others serve on; the run returns 1",
          "[launch][shards]") {
    sharded_echo run(2, 1);
    wait_listening(run, 1);
    const int exact = exact_round_trips(run.port, 32);
    run.finish(0);
    CHECK(exact == 32);
    CHECK(run.accepted[1] == 0);
    CHECK(run.accepted[0] == 32);
    CHECK(run.rc == 1);
}

TEST_CASE("cores = 0 is one shard per usable CPU; capture and faults need one core", "[launch]") {
    stack_options o;
    o.cores = 0;
    CHECK(shard_count(o) == std::max<std::size_t>(1, shard_group::usable_cpus().size()));
    o.cores = 3;
    CHECK(shard_count(o) == 3);
    o.cores = 2;
    o.pcap = "/tmp/never-written.pcap";
    CHECK_THROWS_AS(run_server(o, [](process&) -> task<void> { co_return; }),
                    std::invalid_argument);
    o.pcap.clear();
    o.faults.loss = 0.1;
    CHECK_THROWS_AS(run_server(o, [](process&) -> task<void> { co_return; }),
                    std::invalid_argument);
}
