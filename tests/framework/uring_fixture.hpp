#pragma once
// What the io_uring tests share: a pipe whose ends they read and write, and a reactor under
// a virtual-clock scheduler (its operations count in pending(), so the clock never jumps
// past one; the kernel's own timers run on real time).
#include "framework/coronet.hpp"
#include "framework/uring/uring.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <string_view>
#include <unistd.h>

namespace coronet::test {

struct pipe_fds {
    int r = -1, w = -1; // a test may close w itself (and set it to -1): end of file
    pipe_fds() {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        r = p[0];
        w = p[1];
    }
    ~pipe_fds() {
        ::close(r);
        if (w >= 0) ::close(w);
    }
    pipe_fds(const pipe_fds&) = delete;
    pipe_fds& operator=(const pipe_fds&) = delete;
    void put(std::string_view s) const {
        REQUIRE(::write(w, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
    }
};

struct uring_world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    uring::uring_reactor reactor;
    explicit uring_world(uring::reactor_options o = {}) : reactor(sched, o) {}
};

} // namespace coronet::test
