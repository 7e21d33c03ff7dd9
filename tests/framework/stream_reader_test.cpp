// stream_reader: read until a delimiter (split across reads, several in one read, the rest
// kept for the next call), read exactly N, and the errors: ENODATA at end of stream, EMSGSIZE
// past the limit, EINVAL for an empty delimiter.
#include "framework/coronet.hpp"
#include "framework/process/stream_reader.hpp"
#include "tests/framework/loopback_stack.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    testing::loopback_stack stack;
};

std::string text(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// The server writes each piece in its own write, a millisecond apart, then closes; the
// client runs `body` on a reader over its connection and records what it says.
struct exchange {
    world w;
    ref<process> server = process::create("server", &w.stack);
    ref<process> client = process::create("client", &w.stack);
    std::vector<std::string> said;

    template <class Body>
    void run(std::vector<std::string> pieces, Body body, std::size_t limit = stream_reader::default_limit) {
        auto ls = server->listen({ipv4_any, 7}).get();
        REQUIRE(ls);
        server->spawn([this, ls = *ls, pieces]() -> task<void> {
            auto conn = co_await server->accept(ls);
            if (!conn) co_return;
            for (const auto& p : pieces) {
                (void)co_await server->write_all(*conn, std::as_bytes(std::span(p.data(), p.size())));
                (void)co_await server->sleep(1ms);
            }
            (void)co_await server->close(*conn);
        });
        client->spawn([this, body, limit]() -> task<void> {
            auto conn = co_await client->connect({ipv4_address(127, 0, 0, 1), 7});
            if (!conn) co_return;
            stream_reader in(*client, *conn, limit);
            co_await body(in, said);
        });
        w.sched.run(client->join());
        w.sched.run(server->join());
    }
};

std::string outcome(const result<std::span<const std::byte>>& r) {
    return r ? text(*r) : "error " + std::to_string(r.error());
}

} // namespace

TEST_CASE("stream_reader: a delimiter split across reads, and lines that arrive together",
          "[process][stream_reader]") {
    exchange x;
    x.run({"GET / HT", "TP/1.1\r", "\nHost: a\r\nAccept: */*\r\n\r\nbody"},
          [](stream_reader& in, std::vector<std::string>& said) -> task<void> {
              for (int i = 0; i < 4; ++i) said.push_back(outcome(co_await in.read_until("\r\n")));
              said.push_back(text(in.buffered()));
              said.push_back(outcome(co_await in.read_exactly(4)));
              said.push_back(outcome(co_await in.read_until("\r\n")));
          });
    CHECK(x.said == std::vector<std::string>{"GET / HTTP/1.1\r\n", "Host: a\r\n", "Accept: */*\r\n",
                                             "\r\n", "body", "body", "error " + std::to_string(ENODATA)});
}

TEST_CASE("stream_reader: read_exactly gathers several reads and keeps what follows",
          "[process][stream_reader]") {
    exchange x;
    x.run({"abc", "def", "ghi;tail"}, [](stream_reader& in, std::vector<std::string>& said) -> task<void> {
        said.push_back(outcome(co_await in.read_exactly(7)));
        said.push_back(outcome(co_await in.read_until(";")));
        said.push_back(outcome(co_await in.read_exactly(10)));
        said.push_back(text(in.buffered())); // what came before the end stays readable
    });
    CHECK(x.said == std::vector<std::string>{"abcdefg", "hi;", "error " + std::to_string(ENODATA), "tail"});
}

TEST_CASE("stream_reader: no delimiter within the limit is EMSGSIZE; an empty one EINVAL",
          "[process][stream_reader]") {
    exchange x;
    x.run({std::string(100, 'x'), "\n"},
          [](stream_reader& in, std::vector<std::string>& said) -> task<void> {
              said.push_back(outcome(co_await in.read_until("")));
              said.push_back(outcome(co_await in.read_until("\n")));
          },
          64);
    CHECK(x.said == std::vector<std::string>{"error " + std::to_string(EINVAL), "error " + std::to_string(EMSGSIZE)});
}

TEST_CASE("stream_reader: 5,000 lines in 997-byte writes come out whole and in order",
          "[process][stream_reader]") {
    std::string all;
    for (int i = 0; i < 5000; ++i) all += "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 37), '.') + "\n";
    std::vector<std::string> pieces;
    for (std::size_t at = 0; at < all.size(); at += 997) pieces.push_back(all.substr(at, 997));
    exchange x;
    x.run(pieces, [](stream_reader& in, std::vector<std::string>& said) -> task<void> {
        for (;;) {
            auto line = co_await in.read_until("\n");
            if (!line) break;
            said.push_back(text(*line));
        }
    });
    REQUIRE(x.said.size() == 5000);
    std::string joined;
    for (const auto& l : x.said) joined += l;
    CHECK(joined == all);
}
