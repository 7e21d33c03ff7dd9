// coronet-kv's request and reply parsers (examples/kv/kv_protocol), fed what a peer sends: an
// accepted request has a valid key and, for SET, a length within the limit, and, formatted
// again, parses to the same request; a refused SET's data to skip is within the limit (plus its
// LF); an accepted VALUE reply's length is within the protocol's bound.
#include "examples/kv/kv_protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <string_view>

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t limit = 4096; // a server's own value limit, below the protocol's
    const auto p = kv::parse_request(line, limit);
    if (p.req) {
        FUZZ_CHECK(kv::valid_key(p.req->key));
        FUZZ_CHECK(p.req->op == kv::command::set ? p.req->length <= limit : p.req->length == 0);
        // Formatted again it parses to the same request (not always the same bytes: a length
        // may carry leading zeros).
        const auto again =
            kv::parse_request(kv::format_request(p.req->op, p.req->key, p.req->length), limit);
        FUZZ_CHECK(again.req && again.req->op == p.req->op && again.req->key == p.req->key &&
                   again.req->length == p.req->length);
    } else {
        FUZZ_CHECK(!p.why.reason.empty());
        FUZZ_CHECK(p.skip <= limit + 1);
    }
    if (const auto r = kv::parse_reply(line); r && r->kind == kv::reply_kind::value)
        FUZZ_CHECK(r->length <= kv::max_value);
    return 0;
}
