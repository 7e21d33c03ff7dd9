// fs::open/stat/read: bytes exact, end of file, a large file in 64 KiB chunks of pool
// buffers, and the errno values, each through the io_uring reactor and through the plain
// system calls a scheduler without a reactor (the simulation world) falls back to.
#include "framework/coronet.hpp"
#include "framework/file/file.hpp"
#include "framework/uring/reactor.hpp"
#include "tests/framework/scratch_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace coronet;
using coronet::test::pattern_bytes;
using coronet::test::scratch_dir;
// Catch2 macros must not contain co_await: await into a variable, then assert.

namespace {

// A scheduler on virtual time, with the io_uring reactor or without one.
struct loop {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    std::optional<uring::uring_reactor> reactor;
    explicit loop(bool ring) {
        if (ring) reactor.emplace(sched);
    }
    std::uint64_t ring_ops() const { return reactor ? reactor->stats().submitted : 0; }
};

std::string text(const packet& p) {
    std::string s;
    for (auto sl : p.slices())
        s.append(reinterpret_cast<const char*>(sl.data()), sl.size());
    return s;
}

// The errno of opening `path`, or 0.
int open_error(loop& l, const std::string& path) {
    return l.sched.run([&]() -> task<int> {
        auto f = co_await fs::open(path);
        co_return f ? 0 : f.error();
    }());
}

} // namespace

TEST_CASE("fs::read returns a file's bytes exactly, short at its end and 0 past it", "[file]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    const std::string bytes = pattern_bytes(10'000);
    auto path = dir.write("a.bin", bytes);
    auto got = l.sched.run([&]() -> task<std::vector<std::string>> {
        std::vector<std::string> parts;
        auto f = co_await fs::open(path);
        REQUIRE(f);
        std::array<std::byte, 4096> buf{};
        for (std::uint64_t off = 0;;) {
            auto n = co_await fs::read(*f, buf, off);
            REQUIRE(n);
            parts.emplace_back(reinterpret_cast<const char*>(buf.data()), *n);
            if (*n == 0) break;
            off += *n;
        }
        auto far = co_await fs::read(*f, buf, 1'000'000);
        REQUIRE(far);
        CHECK(*far == 0);
        co_return parts;
    }());
    REQUIRE(got.size() == 4); // 4096 + 4096 + 1808, then 0
    CHECK(got[2].size() == 1808);
    CHECK(got[3].empty());
    CHECK(got[0] + got[1] + got[2] == bytes);
    if (ring) CHECK(l.ring_ops() >= 6); // open, five reads
    if (ring) CHECK(l.reactor->in_flight() == 0);
}

TEST_CASE("fs::read into pool buffers: a 1 MiB + 1 file in 64 KiB chunks arrives byte-exact, "
          "and every buffer goes back to the pool",
          "[file]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    const std::string bytes = pattern_bytes((1 << 20) + 1);
    auto path = dir.write("big.bin", bytes);
    buffer_pool pool({.buffer_size = 16384, .buffer_count = 16});
    struct outcome {
        std::string data;
        std::size_t chunks = 0;
        std::size_t max_slices = 0;
        std::size_t last = 0;
        std::uint32_t max_in_use = 0;
    };
    auto out = l.sched.run([&]() -> task<outcome> {
        outcome o;
        auto f = co_await fs::open(path);
        REQUIRE(f);
        for (;;) {
            auto chunk = co_await fs::read(*f, pool, o.data.size(), 64 * 1024);
            REQUIRE(chunk);
            o.max_in_use = std::max(o.max_in_use, pool.in_use());
            if (chunk->empty()) break;
            ++o.chunks;
            o.last = chunk->length();
            o.max_slices = std::max(o.max_slices, chunk->slice_count());
            o.data += text(*chunk);
        }
        co_return o;
    }());
    CHECK(out.data == bytes);
    CHECK(out.chunks == 17); // sixteen of 64 KiB, then the one byte
    CHECK(out.last == 1);
    CHECK(out.max_slices == 4); // 64 KiB in 16 KiB buffers
    CHECK(out.max_in_use == 4); // the short chunk gave back the three buffers it did not fill
    CHECK(pool.in_use() == 0);
}

TEST_CASE("fs::stat of a path and of an open file: size, modification time, type", "[file]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    auto path = dir.write("s.txt", "twelve bytes");
    const timespec times[2] = {{1'700'000'000, 123'456'789}, {1'700'000'000, 123'456'789}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
    auto [by_path, by_file, of_dir] =
        l.sched.run([&]() -> task<std::tuple<fs::file_status, fs::file_status, fs::file_status>> {
            auto a = co_await fs::stat(path);
            auto f = co_await fs::open(path);
            REQUIRE(f);
            auto b = co_await fs::stat(*f);
            auto d = co_await fs::stat(dir.path.string());
            REQUIRE(a);
            REQUIRE(b);
            REQUIRE(d);
            co_return std::tuple{*a, *b, *d};
        }());
    CHECK(by_path.size == 12);
    CHECK(by_path.mtime_ns == 1'700'000'000'123'456'789);
    CHECK(by_path.regular());
    CHECK_FALSE(by_path.directory());
    CHECK(by_path == by_file);
    CHECK(of_dir.directory());
    CHECK_FALSE(of_dir.regular());
}

TEST_CASE("fs errors are errno values: ENOENT, ENOTDIR, ELOOP, EISDIR, EBADF, ENOBUFS", "[file]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    auto file_path = dir.write("f", "x");
    REQUIRE(::symlink("loop", dir.at("loop").c_str()) == 0);
    CHECK(open_error(l, dir.at("missing")) == ENOENT);
    CHECK(open_error(l, file_path + "/below") == ENOTDIR);
    CHECK(open_error(l, dir.at("loop")) == ELOOP);
    auto [dir_read, closed_read, stat_missing, closed_stat, empty_pool] =
        l.sched.run([&]() -> task<std::tuple<int, int, int, int, int>> {
            std::array<std::byte, 16> buf{};
            auto d = co_await fs::open(dir.path.string()); // a directory opens for reading
            REQUIRE(d);
            auto r = co_await fs::read(*d, buf, 0);
            fs::file closed;
            auto c = co_await fs::read(closed, buf, 0);
            auto s = co_await fs::stat(dir.at("missing"));
            auto cs = co_await fs::stat(closed);
            buffer_pool pool({.buffer_size = 64, .buffer_count = 1});
            auto held = pool.allocate();
            auto f = co_await fs::open(file_path);
            REQUIRE(f);
            auto p = co_await fs::read(*f, pool, 0, 1);
            co_return std::tuple{r.error(), c.error(), s.error(), cs.error(), p.error()};
        }());
    CHECK(dir_read == EISDIR);
    CHECK(closed_read == EBADF);
    CHECK(stat_missing == ENOENT);
    CHECK(closed_stat == EBADF);
    CHECK(empty_pool == ENOBUFS);
}

TEST_CASE("fs::open of a file the caller may not read is EACCES", "[file]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    auto path = dir.write("secret", "x");
    REQUIRE(::chmod(path.c_str(), 0) == 0);
    // As root, act as nobody for file access on this thread only (setfsuid drops
    // CAP_DAC_OVERRIDE with it); io_uring issues the open with the submitter's credentials.
    const bool root = ::geteuid() == 0;
    if (root) ::setfsuid(65534);
    const int err = open_error(l, path);
    if (root) ::setfsuid(0);
    CHECK(err == EACCES);
}

TEST_CASE("fs::open of a FIFO returns at once, without a writer, and leaves the descriptor "
          "blocking",
          "[file]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    REQUIRE(::mkfifo(dir.at("fifo").c_str(), 0600) == 0);
    auto [flags, st] = l.sched.run([&]() -> task<std::tuple<int, fs::file_status>> {
        auto f = co_await fs::open(dir.at("fifo"));
        REQUIRE(f);
        auto s = co_await fs::stat(*f);
        REQUIRE(s);
        co_return std::tuple{::fcntl(f->fd(), F_GETFL), *s};
    }());
    CHECK((flags & O_NONBLOCK) == 0);
    CHECK(S_ISFIFO(st.mode));
    CHECK_FALSE(st.regular());
}

namespace {

// Opens, reads up to 64 bytes and closes `path` on the loop: the bytes read.
std::string open_read_close(loop& l, const std::string& path) {
    return l.sched.run([&]() -> task<std::string> {
        auto f = co_await fs::open(path);
        REQUIRE(f);
        std::array<std::byte, 64> buf{};
        auto n = co_await fs::read(*f, buf, 0);
        REQUIRE(n);
        auto c = co_await fs::close(*f);
        REQUIRE(c);
        CHECK_FALSE(f->is_open());
        co_return std::string(reinterpret_cast<const char*>(buf.data()), *n);
    }());
}

} // namespace

TEST_CASE("fs calls without a reactor complete without suspending: nothing goes through the "
          "ready queue and virtual time stays put",
          "[file]") {
    loop l(false);
    scratch_dir dir;
    auto path = dir.write("sync.txt", "synchronous");
    const time_point start = l.sched.now();
    CHECK(open_read_close(l, path) == "synchronous");
    CHECK(l.sched.stats().resumed == 0);
    CHECK(l.sched.now() == start);
}

TEST_CASE("fs calls with a reactor go through the ring and resume through the ready queue",
          "[file]") {
    loop l(true);
    scratch_dir dir;
    auto path = dir.write("async.txt", "through the ring");
    CHECK(open_read_close(l, path) == "through the ring");
    CHECK(l.reactor->stats().completed == 3); // openat, read, close
    CHECK(l.sched.stats().resumed >= 3);
}

TEST_CASE("fs::open_beneath opens what lies under its directory and refuses, with EXDEV, every "
          "path and symbolic link that leaves it",
          "[file][beneath]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    loop l(ring);
    scratch_dir dir;
    std::filesystem::create_directories(dir.path / "www" / "sub");
    dir.write("secret", "outside");
    dir.write("www/sub/page.txt", "inside");
    const auto www = dir.path / "www";
    std::filesystem::create_symlink("sub/page.txt", www / "inner-link");       // stays inside
    std::filesystem::create_symlink("../secret", www / "climbing-link");       // leaves
    std::filesystem::create_symlink(dir.at("secret"), www / "absolute-link");  // leaves
    std::filesystem::create_symlink("/proc/self/root", www / "proc-link");     // leaves
    auto root = fs::open_directory(www.string());
    REQUIRE(root);
    // The bytes of `rel` under the root, or "errno N".
    auto read_beneath = [&](const std::string& rel) {
        return l.sched.run([&]() -> task<std::string> {
            auto f = co_await fs::open_beneath(*root, rel);
            if (!f) co_return "errno " + std::to_string(f.error());
            std::array<std::byte, 64> buf{};
            auto n = co_await fs::read(*f, buf, 0);
            if (!n) co_return "read errno " + std::to_string(n.error());
            co_return std::string(reinterpret_cast<const char*>(buf.data()), *n);
        }());
    };
    CHECK(read_beneath("sub/page.txt") == "inside");
    CHECK(read_beneath("inner-link") == "inside");
    const std::string exdev = "errno " + std::to_string(EXDEV);
    CHECK(read_beneath("../secret") == exdev);
    CHECK(read_beneath("sub/../../secret") == exdev);
    CHECK(read_beneath(dir.at("secret")) == exdev); // an absolute path
    CHECK(read_beneath("climbing-link") == exdev);
    CHECK(read_beneath("absolute-link") == exdev);
    CHECK(read_beneath("proc-link/etc/passwd") == exdev);
    CHECK(read_beneath("missing") == "errno " + std::to_string(ENOENT));
    // stat_at follows links (it only reads metadata); open_beneath is the gate.
    auto st = l.sched.run([&]() -> task<result<fs::file_status>> {
        co_return co_await fs::stat_at(*root, "inner-link");
    }());
    REQUIRE(st);
    CHECK(st->size == 6);
    CHECK(st->regular());
    // A directory that is not open is EBADF, and opening a missing directory is its errno.
    fs::file none;
    auto bad = l.sched.run([&]() -> task<int> {
        auto f = co_await fs::open_beneath(none, "x");
        co_return f ? 0 : f.error();
    }());
    CHECK(bad == EBADF);
    CHECK(fs::open_directory(dir.at("nowhere")).error() == ENOENT);
    CHECK(fs::open_directory(dir.at("secret")).error() == ENOTDIR);
}
