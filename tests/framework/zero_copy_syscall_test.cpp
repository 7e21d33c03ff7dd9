// The zero-copy system calls' dispatch: recv_zc and send_zc are counted by number, check the
// handle (EBADF), its type (ENOTSOCK) and its rights (EACCES: recv_zc needs read, send_zc
// write), and fail with EOPNOTSUPP on a socket whose stack does not offer them, leaving the
// caller's packet untouched.
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "tests/framework/loopback_stack.hpp"

#include <catch2/catch.hpp>

using namespace coronet;

namespace {

struct world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    testing::loopback_stack stack;
    buffer_pool pool{{.buffer_size = 2048, .buffer_count = 4}};
};

} // namespace

TEST_CASE("recv_zc and send_zc: dispatch, rights and EOPNOTSUPP by default", "[process][zero_copy]") {
    world w;
    auto p = process::create("p", &w.stack);
    auto s = p->socket(socket_type::stream).value();
    auto buf = w.pool.allocate().value();
    packet data;
    REQUIRE(data.append_slice(buf, 0, 100));

    auto r = w.sched.run(p->recv_zc(s));
    CHECK(r.error() == EOPNOTSUPP);
    auto n = w.sched.run(p->send_zc(s, data));
    CHECK(n.error() == EOPNOTSUPP);
    CHECK(data.length() == 100);
    CHECK(p->calls(sysno::recv_zc) == 1);
    CHECK(p->calls(sysno::send_zc) == 1);
    CHECK(describe(sysno::recv_zc).name == "recv_zc");
    CHECK(describe(sysno::send_zc).name == "send_zc");

    SECTION("EBADF for a handle that names nothing") {
        CHECK(w.sched.run(p->recv_zc(handle(4000))).error() == EBADF);
        CHECK(w.sched.run(p->send_zc(handle(4000), data)).error() == EBADF);
    }
    SECTION("ENOTSOCK for a handle on another kind of object") {
        auto e = p->create_event().value();
        CHECK(w.sched.run(p->recv_zc(e)).error() == ENOTSOCK);
        CHECK(w.sched.run(p->send_zc(e, data)).error() == ENOTSOCK);
    }
    SECTION("EACCES without the right: read for recv_zc, write for send_zc") {
        auto read_only = p->duplicate_handle(s, *p, access::read).value();
        auto write_only = p->duplicate_handle(s, *p, access::write).value();
        CHECK(w.sched.run(p->send_zc(read_only, data)).error() == EACCES);
        CHECK(w.sched.run(p->recv_zc(write_only)).error() == EACCES);
        CHECK(w.sched.run(p->recv_zc(read_only)).error() == EOPNOTSUPP); // past the checks
    }
    CHECK(data.length() == 100);
    p->terminate("test over");
    w.sched.run(p->join());
}
