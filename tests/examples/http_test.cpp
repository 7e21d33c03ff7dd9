// The HTTP/1.1 request parser and response writer of the httpd example, on literal requests.
// (tests/CMakeLists.txt links each test with coronet alone, so the parser's source is
// compiled into this test directly.)
#include "examples/common/http.cpp"

#include <catch2/catch.hpp>
#include <string>

using namespace coronet::http;
using namespace std::string_literals;

TEST_CASE("a GET with headers is one complete request, keep-alive by default in HTTP/1.1") {
    std::string in = "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent:  curl/7.88 \r\n\r\n";
    auto r = parse_request(in);
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.consumed == in.size());
    CHECK(r.req.method == "GET");
    CHECK(r.req.target == "/hello?x=1");
    CHECK(r.req.version_minor == 1);
    CHECK(r.req.keep_alive);
    CHECK(r.req.find("user-agent") == std::optional<std::string_view>("curl/7.88"));
    CHECK(!r.req.find("Accept"));
}

TEST_CASE("a request cut anywhere needs more bytes") {
    std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (std::size_t n = 0; n < in.size(); ++n)
        CHECK(parse_request(std::string_view(in).substr(0, n)).status == parse_status::need_more);
}

TEST_CASE("pipelined requests are parsed one after the other") {
    std::string in = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\nConnection: "
                     "close\r\n\r\nGET /c";
    auto a = parse_request(in);
    REQUIRE(a.status == parse_status::complete);
    CHECK(a.req.target == "/a");
    auto rest = std::string_view(in).substr(a.consumed);
    auto b = parse_request(rest);
    REQUIRE(b.status == parse_status::complete);
    CHECK(b.req.method == "HEAD");
    CHECK(!b.req.keep_alive);
    CHECK(parse_request(rest.substr(b.consumed)).status == parse_status::need_more);
}

TEST_CASE("a body with Content-Length is consumed with its request") {
    std::string in = "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET";
    auto r = parse_request(in);
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.req.body == "hello");
    CHECK(in.substr(r.consumed) == "GET");
    CHECK(parse_request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel").status ==
          parse_status::need_more);
}

TEST_CASE("HTTP/1.0 closes unless it asks for keep-alive") {
    CHECK(!parse_request("GET / HTTP/1.0\r\n\r\n").req.keep_alive);
    CHECK(parse_request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").req.keep_alive);
    CHECK(!parse_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n")
               .req.keep_alive);
}

TEST_CASE("malformed requests earn 400") {
    for (std::string bad :
         {"GET\r\n\r\n"s, "GET /\r\n\r\n"s, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"s,
          "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n"s, "GET / HTTX/1.1\r\nHost: a\r\n\r\n"s,
          "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"s, "GET / HTTP/1.1\r\nNoColon\r\n\r\n"s,
          "GET / HTTP/1.1\r\nHost : a\r\n\r\n"s, "GET / HTTP/1.1\r\n\r\n"s /* no Host */,
          "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"s,
          "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"s}) {
        INFO(bad);
        auto r = parse_request(bad);
        CHECK(r.status == parse_status::error);
        CHECK(r.error_status == 400);
    }
}

TEST_CASE("oversized headers earn 431, complete or not") {
    std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
    CHECK(parse_request(big).error_status == 431);
    CHECK(parse_request(std::string_view(big).substr(0, 8500)).error_status == 431);
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 101; ++i)
        many += "X: 1\r\n";
    CHECK(parse_request(many + "\r\n").error_status == 431);
}

TEST_CASE("other versions and transfer codings are refused by status") {
    CHECK(parse_request("GET / HTTP/2.0\r\nHost: a\r\n\r\n").error_status == 505);
    CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
              .error_status == 501);
    CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n")
              .error_status == 413);
}

TEST_CASE("responses carry status, length, type and connection") {
    CHECK(response_head(200, 5, "text/plain", true) ==
          "HTTP/1.1 200 OK\r\nServer: coronet\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n"
          "Connection: keep-alive\r\n\r\n");
    auto e = error_response(405, false);
    CHECK(e.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK(e.find("Allow: GET, HEAD\r\n") != std::string::npos);
    CHECK(e.find("Connection: close\r\n") != std::string::npos);
    CHECK(e.ends_with("\r\n\r\n405 Method Not Allowed\n"));
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
}

TEST_CASE("targets resolve under the root, never outside it") {
    CHECK(resolve("/srv", "/a/b.txt?q=1") == std::filesystem::path("/srv/a/b.txt"));
    CHECK(resolve("/srv", "/") == std::filesystem::path("/srv/index.html"));
    CHECK(resolve("/srv", "/dir/") == std::filesystem::path("/srv/dir/index.html"));
    CHECK(resolve("/srv", "/my%20file") == std::filesystem::path("/srv/my file"));
    CHECK(!resolve("/srv", "/../etc/passwd"));
    CHECK(!resolve("/srv", "/a/%2e%2e/%2e%2e/etc"));
    CHECK(!resolve("/srv", "/a%00b"));
    CHECK(!resolve("/srv", "/a%2"));
    CHECK(!resolve("/srv", "http://x/a"));
    // Relative to the root, as the server opens it (beneath the root's descriptor).
    CHECK(resolve_relative("/") == std::filesystem::path("index.html"));
    CHECK(resolve_relative("//a//b") == std::filesystem::path("a/b"));
    CHECK(resolve_relative("/a/b.txt#frag") == std::filesystem::path("a/b.txt"));
    CHECK(!resolve_relative("/.."));
    // A link out of the root (EXDEV from open_beneath) is forbidden, as nginx's disable_symlinks.
    CHECK(file_error_status(EXDEV) == 403);
    CHECK(file_error_status(ENOENT) == 404);
    CHECK(content_type("x/index.html") == "text/html; charset=utf-8");
    CHECK(content_type("blob.bin") == "application/octet-stream");
}
