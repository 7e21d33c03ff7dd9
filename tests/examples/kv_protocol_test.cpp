// coronet-kv's protocol against literal lines: each request form parsed, each refusal with
// its reason and whether it closes the connection, replies parsed and refused.
#include "examples/kv/kv_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace coronet;
using namespace coronet::kv;

TEST_CASE("kv protocol: GET, SET and DEL lines parse into requests", "[examples][kv]") {
    auto g = parse_request("GET user:1\n");
    REQUIRE(g.req);
    CHECK(g.req->op == command::get);
    CHECK(g.req->key == "user:1");
    auto s = parse_request("SET k 5\n");
    REQUIRE(s.req);
    CHECK(s.req->op == command::set);
    CHECK(s.req->length == 5);
    auto z = parse_request("SET k 0\n");
    REQUIRE(z.req);
    CHECK(z.req->length == 0);
    auto d = parse_request("DEL k\n");
    REQUIRE(d.req);
    CHECK(d.req->op == command::del);
    CHECK(format_request(command::set, "k", 5) == "SET k 5\n");
    CHECK(format_request(command::get, "k") == "GET k\n");
    CHECK(format_error(store_full) == "ERROR store full\n");
}

TEST_CASE("kv protocol: each malformed line gets its refusal", "[examples][kv][malformed]") {
    struct row {
        std::string line;
        refusal want;
        std::size_t skip = 0;
    };
    const std::string key250(250, 'k'), key251(251, 'k');
    const row rows[] = {
        {"PUT k\n", unknown_command},
        {"get k\n", unknown_command}, // commands are upper case
        {"\n", unknown_command},
        {"GET\n", bad_request},
        {"GET a b\n", bad_request},
        {"GET  k\n", bad_request}, // two spaces: an empty word
        {"GET k \n", bad_request},
        {"SET k\n", bad_request},
        {"SET k 1 2\n", bad_request},
        {"GET " + key251 + "\n", bad_key},
        {"GET k\r\n", bad_key}, // no CR is stripped
        {std::string("GET a\0b\n", 8), bad_key},
        {"SET k x\n", bad_length},
        {"SET k -1\n", bad_length},
        {"SET k +1\n", bad_length},
        {"SET k 12345678\n", bad_length}, // 8 digits
        {"SET k 1048577\n", value_too_large},
        {"SET " + key251 + " 3\n", bad_key, 4}, // its 3 bytes and LF are read past
        {"GET k", line_too_long},               // no LF
        {std::string(513, 'a') + "\n", line_too_long},
    };
    for (const auto& r : rows) {
        INFO(r.line);
        const auto p = parse_request(r.line);
        REQUIRE_FALSE(p.req);
        CHECK(p.why.reason == r.want.reason);
        CHECK(p.why.closes == r.want.closes);
        CHECK(p.skip == r.skip);
    }
    CHECK(parse_request("GET " + key250 + "\n").req);
    CHECK(parse_request("SET k 1048576\n").req);
    CHECK(parse_request("SET k 11\n", 10).why.reason == value_too_large.reason);
    CHECK(line_too_long.closes);
    CHECK(bad_length.closes);
    CHECK(value_too_large.closes);
    CHECK(bad_data_chunk.closes);
    CHECK_FALSE(store_full.closes);
}

TEST_CASE("kv protocol: replies parse, anything else is EBADMSG", "[examples][kv]") {
    auto v = parse_reply("VALUE 12\n");
    REQUIRE(v);
    CHECK(v->kind == reply_kind::value);
    CHECK(v->length == 12);
    CHECK(parse_reply("NOT_FOUND\n")->kind == reply_kind::not_found);
    CHECK(parse_reply("STORED\n")->kind == reply_kind::stored);
    CHECK(parse_reply("DELETED\n")->kind == reply_kind::deleted);
    auto e = parse_reply("ERROR store full\n");
    REQUIRE(e);
    CHECK(e->reason == "store full");
    for (const char* bad : {"STORED", "VALUE\n", "VALUE x\n", "VALUE 1048577\n", "ERROR \n",
                            "stored\n", "HELLO\n", ""})
        CHECK(parse_reply(bad).error() == EBADMSG);
}
