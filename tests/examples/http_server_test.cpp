// The HTTP server of coronet-httpd and the demo against clients that hold connections
// without finishing requests, in simulation on virtual time: a slowloris (one header byte a
// second) is answered 408 at the header timeout while another client is served; a silent
// keep-alive connection is closed at the idle timeout; slots held by slowlorises come back.
#include "tests/examples/http_world.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace coronet;
using namespace coronet::examples;
using namespace coronet::examples::test;
using namespace std::chrono_literals;

namespace {

httpd_config timeouts(duration idle, duration header, std::size_t max_connections = 100) {
    httpd_config c;
    c.idle_timeout = idle;
    c.header_timeout = header;
    c.max_connections = max_connections;
    return c;
}

const std::string hello = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

} // namespace

TEST_CASE("httpd: a slowloris gets 408 at the header timeout while another client is served",
          "[examples][httpd][adversarial]") {
    client_result slow, quick; // before the world: its clients write into them until it ends
    http_world hw(timeouts(30s, 10s));
    const time_point start = hw.pw.w.now();
    hw.clients->spawn(client(*hw.clients, hello, 1, 1s, slow));
    hw.pw.w.run_for(3s);
    hw.clients->spawn(client(*hw.clients,
                             "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                             SIZE_MAX, 0s, quick));
    hw.pw.w.run_for(60s);
    CHECK(quick.got.find("HTTP/1.1 200 OK") == 0);
    CHECK(quick.got.find(std::string(hello_body)) != std::string::npos);
    CHECK(slow.got.find("HTTP/1.1 408 Request Timeout") == 0);
    REQUIRE(slow.closed);
    // Cut 10 s after its first byte (plus the handshake's round trips), long before its 32
    // bytes at one a second were done.
    CHECK(slow.closed_at - start >= 10s);
    CHECK(slow.closed_at - start < 11s);
    CHECK(hw.st.header_timeouts == 1);
    CHECK(hw.st.connections == 0);
}

TEST_CASE("httpd: a keep-alive connection silent for the idle timeout is closed without a "
          "response",
          "[examples][httpd]") {
    client_result c;
    http_world hw(timeouts(5s, 60s));
    hw.clients->spawn(client(*hw.clients, hello, SIZE_MAX, 0s, c));
    hw.pw.w.run_for(1s);
    REQUIRE(c.got.find("HTTP/1.1 200 OK") == 0);
    const auto answered = c.got.size();
    CHECK_FALSE(c.closed); // keep-alive: still open after the response
    hw.pw.w.run_for(10s);
    REQUIRE(c.closed);
    CHECK(c.got.size() == answered); // closed silently, as nginx does
    CHECK(hw.st.idle_timeouts == 1);
    CHECK(hw.st.header_timeouts == 0);
}

TEST_CASE("httpd: slowlorises holding every connection slot lose them at the header timeout, "
          "and the next client is served",
          "[examples][httpd][adversarial]") {
    client_result s1, s2, refused, later;
    http_world hw(timeouts(30s, 10s, 2));
    hw.clients->spawn(client(*hw.clients, hello, 1, 1s, s1));
    hw.clients->spawn(client(*hw.clients, hello, 1, 1s, s2));
    hw.pw.w.run_for(2s);
    hw.clients->spawn(client(*hw.clients, hello, SIZE_MAX, 0s, refused));
    hw.pw.w.run_for(2s);
    CHECK(refused.got.find("HTTP/1.1 503") == 0); // both slots are held
    hw.pw.w.run_for(10s);
    CHECK(s1.got.find("HTTP/1.1 408") == 0);
    CHECK(s2.got.find("HTTP/1.1 408") == 0);
    hw.clients->spawn(client(*hw.clients, hello, SIZE_MAX, 0s, later));
    hw.pw.w.run_for(1s);
    CHECK(later.got.find("HTTP/1.1 200 OK") == 0);
}
