// coronet-load's HTTP/1.1 response parser and stream, on literal responses: good ones,
// ones split across reads at every byte, pipelined ones, and malformed ones (each an error,
// never a crash or a response).
#include "examples/load/http_response.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace coronet::load;

namespace {

const std::string hello = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\nContent-Type: text/plain\r\n"
                          "\r\nHello from coronet!\n";

// Feeds `in` to a stream `piece` bytes at a time; the statuses of the responses it gives, and
// the error if it fails.
struct fed {
    std::vector<int> statuses;
    response_error error = response_error::none;
    bool partial = false;
};
fed feed(const std::string& in, std::size_t piece, std::size_t capacity = 65536) {
    response_stream s({}, capacity);
    fed out;
    std::size_t at = 0;
    for (;;) {
        auto ev = s.next();
        if (ev == response_stream::event::response) {
            out.statuses.push_back(s.head().status);
            continue;
        }
        if (ev == response_stream::event::error) {
            out.error = s.error();
            return out;
        }
        if (at == in.size()) break;
        auto space = s.space();
        REQUIRE(!space.empty());
        auto n = std::min({piece, space.size(), in.size() - at});
        std::memcpy(space.data(), in.data() + at, n);
        s.commit(n);
        at += n;
    }
    out.partial = s.partial();
    return out;
}

} // namespace

TEST_CASE("load http: a 200 with Content-Length") {
    auto r = parse_response_head(hello);
    REQUIRE(r.status == head_status::complete);
    CHECK(r.head.status == 200);
    CHECK(r.head.version_minor == 1);
    CHECK(r.head.content_length == 20);
    CHECK(r.head.keep_alive);
    CHECK(r.head.head_bytes == hello.size() - 20);
}

TEST_CASE("load http: keep-alive as HTTP/1.0 and 1.1 say") {
    auto close11 =
        parse_response_head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    CHECK(!close11.head.keep_alive);
    auto plain10 = parse_response_head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK(!plain10.head.keep_alive);
    auto keep10 = parse_response_head(
        "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
    CHECK(keep10.head.keep_alive);
}

TEST_CASE("load http: 204, 304 and 1xx have no body, whatever Content-Length says") {
    for (const char* in : {"HTTP/1.1 204 No Content\r\n\r\n",
                           "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
                           "HTTP/1.1 100 Continue\r\n\r\n"}) {
        auto r = parse_response_head(in);
        REQUIRE(r.status == head_status::complete);
        CHECK(r.head.content_length == 0);
    }
    // A reason phrase may be empty, and the space before it missing.
    CHECK(parse_response_head("HTTP/1.1 204\r\n\r\n").status == head_status::complete);
    CHECK(parse_response_head("HTTP/1.1 204 \r\n\r\n").status == head_status::complete);
}

TEST_CASE("load http: a response split at every byte comes out whole, once") {
    for (std::size_t piece : {1, 2, 3, 7, 64}) {
        auto f = feed(hello, piece);
        CHECK(f.statuses == std::vector<int>{200});
        CHECK(f.error == response_error::none);
        CHECK(!f.partial);
    }
    // Cut short anywhere, it is partial, not a response.
    for (std::size_t n = 1; n < hello.size(); ++n) {
        auto f = feed(hello.substr(0, n), 5);
        REQUIRE(f.statuses.empty());
        CHECK(f.partial);
    }
}

TEST_CASE("load http: pipelined responses, an interim 100 and a body larger than the buffer") {
    std::string big_body(100'000, 'x');
    std::string in = hello + "HTTP/1.1 100 Continue\r\n\r\n" +
                     "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nNot Found\n" +
                     "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + big_body + hello;
    for (std::size_t piece : {1, 1000, 65536}) {
        auto f = feed(in, piece, 16384);
        CHECK(f.statuses == std::vector<int>{200, 100, 404, 200, 200});
        CHECK(f.error == response_error::none);
        CHECK(!f.partial);
    }
}

TEST_CASE("load http: malformed responses are errors") {
    const char* malformed[] = {
        "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
        "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\nb\r\nContent-Length: 0\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
    };
    for (const char* in : malformed) {
        INFO(in);
        auto r = parse_response_head(in);
        CHECK(r.status == head_status::error);
        CHECK(r.error == response_error::malformed);
        CHECK(feed(in, 3).error == response_error::malformed);
    }
}

TEST_CASE("load http: chunked bodies and bodies ended by close are refused, as said") {
    auto chunked = parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(chunked.error == response_error::unsupported);
    auto until_close = parse_response_head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    CHECK(until_close.error == response_error::unsupported);
}

TEST_CASE("load http: a head beyond the limit, a huge length, too many fields") {
    std::string endless = "HTTP/1.1 200 OK\r\nX: " + std::string(20'000, 'a');
    CHECK(parse_response_head(endless).error == response_error::too_large);
    CHECK(feed(endless, 4096, 16384).error == response_error::too_large);
    CHECK(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n")
              .error == response_error::too_large);
    CHECK(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 2000000000000\r\n\r\n").error ==
          response_error::too_large);
    std::string many = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 101; ++i)
        many += "X: y\r\n";
    CHECK(parse_response_head(many + "Content-Length: 0\r\n\r\n").error ==
          response_error::too_large);
}

TEST_CASE("load http: after an error the stream stays failed") {
    response_stream s;
    const std::string bad = "HTTP/9 200 OK\r\n\r\n" + hello;
    auto space = s.space();
    std::memcpy(space.data(), bad.data(), bad.size());
    s.commit(bad.size());
    CHECK(s.next() == response_stream::event::error);
    CHECK(s.next() == response_stream::event::error);
    s.reset();
    space = s.space();
    std::memcpy(space.data(), hello.data(), hello.size());
    s.commit(hello.size());
    CHECK(s.next() == response_stream::event::response);
}
