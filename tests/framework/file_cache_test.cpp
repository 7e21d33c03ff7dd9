// fs::file_cache: a second get() answered from the same buffers, the byte bound and the
// entry bound honoured (least recently used out first), and entries dropped when the file
// changes size, modification time or inode, or goes away; on virtual time, without a ring
// (the plain system calls) and with one.
#include "framework/coronet.hpp"
#include "framework/file/file_cache.hpp"
#include "framework/uring/reactor.hpp"
#include "tests/framework/scratch_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::test::pattern_bytes;
using coronet::test::scratch_dir;

namespace {

struct cache_world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    std::optional<uring::uring_reactor> reactor;
    buffer_pool pool{{.buffer_size = 4096, .buffer_count = 64}};
    fs::file_cache cache;
    scratch_dir dir;
    cache_world(fs::file_cache_options opts, bool ring) : cache(pool, opts) {
        if (ring) reactor.emplace(sched);
    }
    ~cache_world() { cache.clear(); }

    // The file's bytes through the cache, or the errno.
    result<std::string> get(const std::string& name) {
        return sched.run([&]() -> task<result<std::string>> {
            auto c = co_await cache.get(dir.at(name));
            if (!c) co_return error{c.error()};
            std::string s;
            for (auto sl : c->data.slices())
                s.append(reinterpret_cast<const char*>(sl.data()), sl.size());
            co_return s;
        }());
    }
};

fs::file_cache_options opts(std::size_t max_bytes, std::size_t max_entry, duration revalidate) {
    return {.max_bytes = max_bytes, .max_entry_bytes = max_entry, .revalidate_after = revalidate};
}

void set_mtime(const std::string& path, std::int64_t sec) {
    const timespec t[2] = {{sec, 0}, {sec, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
}

} // namespace

TEST_CASE("file_cache: a second get is a hit that hands out the same buffers", "[file][cache]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    cache_world w(opts(1 << 20, 1 << 20, 0s), ring);
    const std::string bytes = pattern_bytes(10'000);
    w.dir.write("a", bytes);
    REQUIRE(w.get("a").value() == bytes);
    CHECK(w.cache.stats().misses == 1);
    CHECK(w.cache.stats().bytes_read == 10'000);
    const auto in_use = w.pool.in_use();
    CHECK(in_use == 3); // 10,000 bytes in 4 KiB buffers, held by the entry
    CHECK(w.cache.stats().bytes == 3 * 4096);
    REQUIRE(w.get("a").value() == bytes);
    CHECK(w.cache.stats().hits == 1);
    CHECK(w.cache.stats().misses == 1);
    CHECK(w.cache.stats().bytes_hit == 10'000);
    CHECK(w.pool.in_use() == in_use); // shared, not copied
}

TEST_CASE("file_cache: within revalidate_after an entry is served without a system call",
          "[file][cache]") {
    cache_world w(opts(1 << 20, 1 << 20, 5s), true);
    auto path = w.dir.write("a", "old!");
    set_mtime(path, 1'000);
    REQUIRE(w.get("a").value() == "old!");
    const auto ops = w.reactor->stats().submitted;
    w.dir.write("a", "new, longer");
    CHECK(w.get("a").value() == "old!"); // not checked yet: as nginx's open_file_cache_valid
    CHECK(w.reactor->stats().submitted == ops);
    w.clock.advance(5s);
    CHECK(w.get("a").value() == "new, longer");
    CHECK(w.cache.stats().invalidations == 1);
    CHECK(w.cache.stats().misses == 2);
}

TEST_CASE("file_cache: an entry is dropped when the file's size, mtime or inode changes",
          "[file][cache]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    cache_world w(opts(1 << 20, 1 << 20, 0s), ring);
    auto path = w.dir.write("a", "version 1");
    set_mtime(path, 1'000);
    REQUIRE(w.get("a").value() == "version 1");
    SECTION("size") {
        w.dir.write("a", "version 22");
        set_mtime(path, 1'000);
        CHECK(w.get("a").value() == "version 22");
    }
    SECTION("mtime, same size") {
        w.dir.write("a", "version 2");
        set_mtime(path, 2'000);
        CHECK(w.get("a").value() == "version 2");
    }
    SECTION("inode: replaced by a rename, same size and mtime") {
        auto other = w.dir.write("b", "version 3");
        set_mtime(other, 1'000);
        REQUIRE(std::rename(other.c_str(), path.c_str()) == 0);
        CHECK(w.get("a").value() == "version 3");
    }
    CHECK(w.cache.stats().invalidations == 1);
    CHECK(w.cache.stats().misses == 2);
    CHECK(w.cache.stats().entries == 1);
}

TEST_CASE("file_cache: a file that went away is ENOENT and its entry is dropped", "[file][cache]") {
    cache_world w(opts(1 << 20, 1 << 20, 0s), false);
    auto path = w.dir.write("a", "here");
    REQUIRE(w.get("a").value() == "here");
    REQUIRE(std::remove(path.c_str()) == 0);
    CHECK(w.get("a").error() == ENOENT);
    CHECK(w.cache.stats().entries == 0);
    CHECK(w.cache.stats().bytes == 0);
    CHECK(w.pool.in_use() == 0);
}

TEST_CASE("file_cache: the byte bound is honoured, least recently used entries leave first",
          "[file][cache]") {
    cache_world w(opts(3 * 4096, 1 << 20, 1h), false);
    for (auto name : {"a", "b", "c", "d", "e"})
        w.dir.write(name, std::string(100, name[0]));
    REQUIRE(w.get("a"));
    REQUIRE(w.get("b"));
    REQUIRE(w.get("c"));
    REQUIRE(w.get("a")); // a is now the most recent: b goes first
    REQUIRE(w.get("d"));
    REQUIRE(w.get("e"));
    CHECK(w.cache.stats().entries == 3);
    CHECK(w.cache.stats().bytes == 3 * 4096);
    CHECK(w.cache.stats().evictions == 2);
    CHECK(w.pool.in_use() == 3);
    const auto misses = w.cache.stats().misses;
    REQUIRE(w.get("a").value() == std::string(100, 'a')); // kept
    CHECK(w.cache.stats().misses == misses);
    REQUIRE(w.get("b").value() == std::string(100, 'b')); // evicted: read again
    CHECK(w.cache.stats().misses == misses + 1);
    CHECK(w.cache.stats().bytes <= 3 * 4096);
}

TEST_CASE("file_cache: a file above max_entry_bytes is EFBIG and never read; one above the "
          "byte bound is served but not kept",
          "[file][cache]") {
    cache_world w(opts(2 * 4096, 10'000, 0s), false);
    w.dir.write("big", pattern_bytes(10'001));
    w.dir.write("wide", pattern_bytes(9'000)); // fits the entry bound, needs three buffers
    CHECK(w.get("big").error() == EFBIG);
    CHECK(w.cache.stats().too_large == 1);
    CHECK(w.get("wide").value() == pattern_bytes(9'000));
    CHECK(w.cache.stats().entries == 0);
    CHECK(w.cache.stats().bytes == 0);
    CHECK(w.pool.in_use() == 0);
}

TEST_CASE("file_cache: a directory is EISDIR, a FIFO EINVAL, and neither is cached",
          "[file][cache]") {
    cache_world w(opts(1 << 20, 1 << 20, 0s), true);
    REQUIRE(::mkdir(w.dir.at("sub").c_str(), 0700) == 0);
    REQUIRE(::mkfifo(w.dir.at("fifo").c_str(), 0600) == 0);
    CHECK(w.get("sub").error() == EISDIR);
    CHECK(w.get("fifo").error() == EINVAL);
    CHECK(w.cache.stats().entries == 0);
}

TEST_CASE("file_cache: bytes handed out outlive the entry they came from", "[file][cache]") {
    cache_world w(opts(1 << 20, 1 << 20, 0s), false);
    const std::string bytes = pattern_bytes(5'000);
    w.dir.write("a", bytes);
    auto held = w.sched.run([&]() -> task<packet> {
        auto c = co_await w.cache.get(w.dir.at("a"));
        REQUIRE(c);
        co_return std::move(c->data);
    }());
    w.cache.clear();
    std::string s;
    for (auto sl : held.slices())
        s.append(reinterpret_cast<const char*>(sl.data()), sl.size());
    CHECK(s == bytes);
    CHECK(w.pool.in_use() == 2);
    held.reset();
    CHECK(w.pool.in_use() == 0);
}

TEST_CASE("file_cache with a root: paths are relative to it, a link out of it is EXDEV and a "
          "cached link swapped to point out is refused at revalidation",
          "[file][cache][beneath]") {
    const bool ring = GENERATE(true, false);
    CAPTURE(ring);
    scratch_dir outer;
    outer.write("secret", "outside!"); // as long as "inside!!", so only the inode tells
    std::filesystem::create_directory(outer.path / "www");
    outer.write("www/page", "inside!!");
    const auto www = outer.path / "www";
    std::filesystem::create_symlink("page", www / "link");
    std::filesystem::create_symlink(outer.at("secret"), www / "out");
    auto root = fs::open_directory(www.string());
    REQUIRE(root);
    auto o = opts(1 << 20, 1 << 20, 0s);
    o.root = &*root;
    cache_world w(o, ring);
    auto get = [&](const std::string& rel) {
        return w.sched.run([&]() -> task<result<std::string>> {
            auto c = co_await w.cache.get(rel);
            if (!c) co_return error{c.error()};
            std::string s;
            for (auto sl : c->data.slices())
                s.append(reinterpret_cast<const char*>(sl.data()), sl.size());
            co_return s;
        }());
    };
    CHECK(get("page").value() == "inside!!");
    CHECK(get("out").error() == EXDEV);
    CHECK(get("link").value() == "inside!!");
    std::filesystem::remove(www / "link");
    std::filesystem::create_symlink(outer.at("secret"), www / "link");
    CHECK(get("link").error() == EXDEV); // the stat saw another inode; the reload is refused
    CHECK(w.cache.stats().invalidations == 1);
    CHECK(w.cache.stats().entries == 1); // "page" alone
}
