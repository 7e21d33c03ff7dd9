// coronet-httpd's files, in simulation: a large file arrives byte-exact, streamed in 64 KiB
// chunks that the native stack sends without copying; a second client is served while a
// big file is still going out to a slow reader; small files come from the cache and are
// read again once edited; targets that climb out of the root are refused. Each with the
// server's file reads through io_uring (a reactor on the world's scheduler) and without.
#include "tests/examples/http_world.hpp"
#include "tests/framework/scratch_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <sys/fsuid.h>
#include <unistd.h>

using namespace coronet;
using namespace coronet::examples;
using namespace coronet::examples::test;
using coronet::test::pattern_bytes;
using coronet::test::scratch_dir;
using namespace std::chrono_literals;

namespace {

httpd_config files_at(const std::string& root) {
    httpd_config c;
    c.root = root;
    return c;
}

std::string get(std::string_view target, bool close = true) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" +
           (close ? "Connection: close\r\n" : "") + "\r\n";
}

// The body of the one response in `got`, checked against its Content-Length.
std::string body_of(const std::string& got) {
    const auto end = got.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    const auto at = got.find("Content-Length: ");
    REQUIRE(at < end);
    const std::size_t length = std::stoul(got.substr(at + 16));
    std::string body = got.substr(end + 4);
    CHECK(body.size() == length);
    return body;
}

// A client that reads `per_read` bytes every `pause` until the server closes.
task<void> slow_reader(process& p, std::string request, std::size_t per_read, duration pause,
                       client_result& out) {
    auto h = co_await p.connect(server_at);
    if (!h) co_return;
    if (!co_await p.write_all(*h, std::as_bytes(std::span(request.data(), request.size()))))
        co_return;
    std::vector<std::byte> buf(per_read);
    for (;;) {
        auto r = co_await p.read(*h, buf);
        if (!r || *r == 0) break;
        out.got.append(reinterpret_cast<const char*>(buf.data()), *r);
        (void)co_await p.sleep(pause);
    }
    out.closed = true;
    out.closed_at = scheduler::current().now();
}

} // namespace

TEST_CASE("httpd: a 3 MiB file arrives byte-exact, and the native stack copies none of it",
          "[examples][httpd][files]") {
    const bool ring = GENERATE(false, true);
    CAPTURE(ring);
    scratch_dir dir;
    const std::string bytes = pattern_bytes((3 << 20) + 7);
    dir.write("big.bin", bytes);
    client_result c;
    http_world hw(files_at(dir.path.string()), ring);
    hw.clients->spawn(client(*hw.clients, get("/big.bin"), SIZE_MAX, 0s, c));
    REQUIRE(hw.pw.w.run_until([&] { return c.closed; }, 120s));
    CHECK(c.got.find("HTTP/1.1 200 OK") == 0);
    CHECK(c.got.find("Content-Type: application/octet-stream") != std::string::npos);
    CHECK(body_of(c.got) == bytes);
    CHECK(hw.st.files_sent == 1);
    CHECK(hw.st.file_bytes_sent == bytes.size());
    CHECK(hw.st.cache.stats().too_large == 1); // above the entry bound: streamed, not cached
    // send_zc: TCP sent the file buffers themselves; only the head was copied, by the server.
    CHECK(hw.pw.tcp_counter(hw.pw.b, "bytes_copied_in") == 0);
    CHECK(hw.st.head_bytes_copied.value > 0);
    CHECK(hw.st.files.high_water() <= 64); // chunks held until acknowledged, not the whole file
}

TEST_CASE("httpd: a second client is served while a big file is still going out to a slow reader",
          "[examples][httpd][files]") {
    const bool ring = GENERATE(false, true);
    CAPTURE(ring);
    scratch_dir dir;
    const std::string big = pattern_bytes(4 << 20);
    const std::string small = pattern_bytes(3000);
    dir.write("big.bin", big);
    dir.write("small.txt", small);
    client_result slow, quick, hello;
    http_world hw(files_at(dir.path.string()), ring);
    // 16 KiB every 10 ms: 4 MiB take about 2.6 s of virtual time.
    hw.clients->spawn(slow_reader(*hw.clients, get("/big.bin"), 16384, 10ms, slow));
    hw.pw.w.run_for(500ms);
    REQUIRE_FALSE(slow.closed);
    const time_point asked = hw.pw.w.now();
    hw.clients->spawn(client(*hw.clients, get("/small.txt"), SIZE_MAX, 0s, quick));
    hw.clients->spawn(client(*hw.clients, get("/hello"), SIZE_MAX, 0s, hello));
    REQUIRE(hw.pw.w.run_until([&] { return quick.closed && hello.closed; }, 60s));
    INFO(hw.pw.b.counters_text());
    INFO(hw.pw.a.counters_text());
    CHECK_FALSE(slow.closed); // still sending
    CHECK(quick.closed_at - asked < 50ms);
    CHECK(body_of(quick.got) == small);
    CHECK(body_of(hello.got) == std::string(hello_body));
    REQUIRE(hw.pw.w.run_until([&] { return slow.closed; }, 120s));
    CHECK(body_of(slow.got) == big);
}

TEST_CASE("httpd: a small file is read once and then served from the cache until it changes",
          "[examples][httpd][files]") {
    const bool ring = GENERATE(false, true);
    CAPTURE(ring);
    scratch_dir dir;
    dir.write("page.html", "<p>one</p>");
    auto cfg = files_at(dir.path.string());
    cfg.cache_revalidate = 0s; // check the disk on every request
    http_world hw(cfg, ring);
    client_result r1, r2, r3;
    hw.clients->spawn(client(*hw.clients, get("/page.html"), SIZE_MAX, 0s, r1));
    REQUIRE(hw.pw.w.run_until([&] { return r1.closed; }, 10s));
    hw.clients->spawn(client(*hw.clients, get("/page.html"), SIZE_MAX, 0s, r2));
    REQUIRE(hw.pw.w.run_until([&] { return r2.closed; }, 10s));
    CHECK(body_of(r1.got) == "<p>one</p>");
    CHECK(body_of(r2.got) == "<p>one</p>");
    CHECK(r1.got.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
    const auto& cs = hw.st.cache.stats();
    CHECK(cs.misses == 1);
    CHECK(cs.hits == 1);
    CHECK(cs.bytes_hit == 10);
    dir.write("page.html", "<p>two, longer</p>");
    hw.clients->spawn(client(*hw.clients, get("/page.html"), SIZE_MAX, 0s, r3));
    REQUIRE(hw.pw.w.run_until([&] { return r3.closed; }, 10s));
    CHECK(body_of(r3.got) == "<p>two, longer</p>");
    CHECK(cs.invalidations == 1);
    CHECK(cs.misses == 2);
}

TEST_CASE("httpd: a target that climbs out of the root is 400 and the file above it stays unread",
          "[examples][httpd][files][adversarial]") {
    scratch_dir dir;
    std::filesystem::create_directory(dir.path / "www");
    dir.write("secret", "the file above the root");
    dir.write("www/index.html", "index");
    http_world hw(files_at((dir.path / "www").string()));
    std::vector<client_result> got(4);
    const std::vector<std::string> targets = {"/../secret", "/%2e%2e/secret", "/a/../../secret",
                                              "/.%2e/secret"};
    for (std::size_t i = 0; i < targets.size(); ++i)
        hw.clients->spawn(client(*hw.clients, get(targets[i]), SIZE_MAX, 0s, got[i]));
    REQUIRE(hw.pw.w.run_until(
        [&] { return std::all_of(got.begin(), got.end(), [](auto& r) { return r.closed; }); },
        10s));
    for (std::size_t i = 0; i < targets.size(); ++i) {
        INFO(targets[i]);
        CHECK(got[i].got.find("HTTP/1.1 400 Bad Request") == 0);
        CHECK(got[i].got.find("the file above the root") == std::string::npos);
    }
    CHECK(hw.st.cache.stats().misses == 0); // nothing was even opened
}

TEST_CASE("httpd: missing files and directories are 404 on a kept-alive connection, HEAD has the "
          "length and no body, an unreadable file is 403",
          "[examples][httpd][files]") {
    scratch_dir dir;
    std::filesystem::create_directory(dir.path / "sub");
    dir.write("f.txt", "twelve bytes");
    auto secret = dir.write("secret.txt", "no");
    REQUIRE(::chmod(secret.c_str(), 0) == 0);
    http_world hw(files_at(dir.path.string()));
    client_result c, forbidden;
    const std::string requests = get("/missing", false) + get("/sub", false) +
                                 "HEAD /f.txt HTTP/1.1\r\nHost: x\r\n\r\n" + get("/f.txt");
    hw.clients->spawn(client(*hw.clients, requests, SIZE_MAX, 0s, c));
    const bool ended = hw.pw.w.run_until([&] { return c.closed; }, 10s);
    INFO(c.got);
    REQUIRE(ended);
    const auto first = c.got.find("HTTP/1.1 404 Not Found");
    CHECK(first == 0);
    CHECK(c.got.find("HTTP/1.1 404 Not Found", first + 1) != std::string::npos);
    const auto head = c.got.find("HTTP/1.1 200 OK");
    REQUIRE(head != std::string::npos);
    const auto get_reply = c.got.find("HTTP/1.1 200 OK", head + 1);
    REQUIRE(get_reply != std::string::npos);
    const std::string head_reply = c.got.substr(head, get_reply - head);
    CHECK(head_reply.find("Content-Length: 12\r\n") != std::string::npos);
    CHECK(head_reply.size() == head_reply.find("\r\n\r\n") + 4); // no body
    CHECK(body_of(c.got.substr(get_reply)) == "twelve bytes");
    // As root, read files as nobody on this thread (setfsuid drops CAP_DAC_OVERRIDE).
    const bool root = ::geteuid() == 0;
    if (root) ::setfsuid(65534);
    hw.clients->spawn(client(*hw.clients, get("/secret.txt"), SIZE_MAX, 0s, forbidden));
    const bool done = hw.pw.w.run_until([&] { return forbidden.closed; }, 10s);
    if (root) ::setfsuid(0);
    REQUIRE(done);
    CHECK(forbidden.got.find("HTTP/1.1 403 Forbidden") == 0);
}

TEST_CASE("httpd: a symbolic link in the root that leads out of it is 403 and its target stays "
          "unread, by the cache and by the streaming path; a link inside is served",
          "[examples][httpd][files][adversarial]") {
    scratch_dir dir;
    std::filesystem::create_directory(dir.path / "www");
    dir.write("secret", "the file outside the root");
    dir.write("big-secret", std::string(300 * 1024, 's')); // above the cache's entry bound
    dir.write("www/index.html", "index");
    const auto www = dir.path / "www";
    std::filesystem::create_symlink(dir.at("secret"), www / "absolute");
    std::filesystem::create_symlink("../secret", www / "relative");
    std::filesystem::create_symlink("../big-secret", www / "big");
    std::filesystem::create_symlink("index.html", www / "inner");
    http_world hw(files_at(www.string()));
    const std::vector<std::string> targets = {"/absolute", "/relative", "/big", "/inner"};
    std::vector<client_result> got(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i)
        hw.clients->spawn(client(*hw.clients, get(targets[i]), SIZE_MAX, 0s, got[i]));
    REQUIRE(hw.pw.w.run_until(
        [&] { return std::all_of(got.begin(), got.end(), [](auto& r) { return r.closed; }); },
        10s));
    for (std::size_t i = 0; i + 1 < targets.size(); ++i) {
        INFO(targets[i]);
        CHECK(got[i].got.find("HTTP/1.1 403 Forbidden") == 0);
        CHECK(got[i].got.find("outside") == std::string::npos);
        CHECK(got[i].got.find("sss") == std::string::npos);
    }
    CHECK(body_of(got.back().got) == "index");
}
