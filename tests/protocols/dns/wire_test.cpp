// DNS messages against literal bytes: a query as dig sends it, an answer with compressed
// names (a CNAME to an A record), and every way a hostile answer is refused.
#include "protocols/dns/resolver.hpp"
#include "protocols/dns/wire.hpp"
#include "tests/protocols/hex.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::dns;
using coronet::testing::bytes;
using coronet::testing::hex;

namespace {

// `dig +noedns example.com A`, ID 0x1234, recursion desired.
const bytes query_bytes = hex("1234 0100 0001 0000 0000 0000"
                              "07 6578616d706c65 03 636f6d 00 0001 0001");

// The answer to www.example.com: a CNAME to example.com (both names compressed: the owner
// points at the question, offset 12, the target at its second label, offset 16), then
// example.com A 93.184.216.34 (owner at offset 16). TTLs 3600.
const bytes answer_bytes = hex("1234 8180 0001 0002 0000 0000"
                               "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
                               "c00c 0005 0001 00000e10 0002 c010"
                               "c010 0001 0001 00000e10 0004 5db8d822");

// An answer to "a" whose second record's owner is reached through `jumps` compression
// pointers: the first record (TXT, skipped) holds a chain of pointers, each to the one
// before, the first to the question's name.
bytes pointer_chain(int jumps) {
    bytes m = hex("0001 8180 0001 0002 0000 0000 01 61 00 0001 0001");
    const std::size_t chain_at = m.size() + 12;
    bytes txt = hex("c00c 0010 0001 00000000");
    const auto chain_size = static_cast<std::uint16_t>(2 * (jumps - 1));
    txt.push_back(static_cast<std::byte>(chain_size >> 8));
    txt.push_back(static_cast<std::byte>(chain_size));
    std::size_t previous = 12;
    for (int i = 0; i < jumps - 1; ++i) {
        txt.push_back(static_cast<std::byte>(0xc0 | previous >> 8));
        txt.push_back(static_cast<std::byte>(previous));
        previous = chain_at + 2 * static_cast<std::size_t>(i);
    }
    m.insert(m.end(), txt.begin(), txt.end());
    m.push_back(static_cast<std::byte>(0xc0 | previous >> 8));
    m.push_back(static_cast<std::byte>(previous));
    const bytes a = hex("0001 0001 00000000 0004 0a000001");
    m.insert(m.end(), a.begin(), a.end());
    return m;
}

} // namespace

TEST_CASE("dns wire: a query is emitted byte for byte as dig sends it", "[dns]") {
    auto q = emit_query(0x1234, "Example.COM.");
    REQUIRE(q);
    CHECK(*q == query_bytes);
    auto back = parse(*q);
    REQUIRE(back);
    CHECK(back->id == 0x1234);
    CHECK(back->flags == flags{.recursion_desired = true});
    REQUIRE(back->questions.size() == 1);
    CHECK(back->questions[0] == question{"example.com"});
    CHECK(back->answers.empty());
}

TEST_CASE("dns wire: an answer with compressed names, a CNAME then an A record", "[dns]") {
    auto m = parse(answer_bytes);
    REQUIRE(m);
    CHECK(m->id == 0x1234);
    CHECK(m->flags ==
          flags{.response = true, .recursion_desired = true, .recursion_available = true});
    CHECK(m->questions == std::vector<question>{{"www.example.com"}});
    REQUIRE(m->answers.size() == 2);
    CHECK(m->answers[0] == record{.name = "www.example.com",
                                  .type = record_type::cname,
                                  .ttl = 3600,
                                  .target = "example.com"});
    CHECK(m->answers[1] ==
          record{.name = "example.com", .ttl = 3600, .address = {93, 184, 216, 34}});
    CHECK(addresses_in(*m, "www.example.com").value() ==
          std::vector<ipv4_address>{{93, 184, 216, 34}});
}

TEST_CASE("dns wire: an emitted answer parses back to itself", "[dns]") {
    message m{
        .id = 0xbeef,
        .flags = {.response = true, .authoritative = true, .rcode = rcode::name_error},
        .questions = {{"x.test"}},
        .answers = {{.name = "x.test", .type = record_type::cname, .ttl = 7, .target = "y.test"},
                    {.name = "y.test", .ttl = 9, .address = {10, 1, 2, 3}}}};
    auto wire = emit(m);
    REQUIRE(wire);
    CHECK(wire->size() == 12 + 12 + 2 * (8 + 10) + 8 + 4);
    auto back = parse(*wire);
    REQUIRE(back);
    CHECK(back->id == m.id);
    CHECK(back->flags == m.flags);
    CHECK(back->questions == m.questions);
    CHECK(back->answers == m.answers);
}

TEST_CASE("dns wire: every truncation of an answer is refused", "[dns]") {
    for (std::size_t n = 0; n < answer_bytes.size(); ++n) {
        INFO("first " << n << " bytes");
        auto m = parse(std::span(answer_bytes).first(n));
        REQUIRE(!m);
        CHECK(m.error() == EBADMSG);
    }
}

TEST_CASE("dns wire: compression pointers: a bounded chain backwards, never a loop or forwards",
          "[dns]") {
    auto ok = parse(pointer_chain(max_pointer_jumps));
    REQUIRE(ok);
    REQUIRE(ok->answers.size() == 1); // the TXT record is read over
    CHECK(ok->answers[0] == record{.name = "a", .address = {10, 0, 0, 1}});

    auto long_chain = parse(pointer_chain(max_pointer_jumps + 1));
    REQUIRE(!long_chain);
    CHECK(long_chain.error() == EBADMSG);

    // The question's name a pointer to itself (a loop), then one past the message's end.
    auto self = parse(hex("0001 8180 0001 0000 0000 0000 c00c 0001 0001"));
    REQUIRE(!self);
    CHECK(self.error() == EBADMSG);
    auto beyond = parse(hex(
        "0001 8180 0001 0001 0000 0000 01 61 00 0001 0001 c0ff 0001 0001 00000000 0004 0a000001"));
    REQUIRE(!beyond);
    CHECK(beyond.error() == EBADMSG);
    // A CNAME target pointing forward, into the next record.
    auto forward = parse(hex("0001 8180 0001 0002 0000 0000 01 61 00 0001 0001"
                             "c00c 0005 0001 00000000 0002 c02b"
                             "01 62 00 0001 0001 00000000 0004 0a000001"));
    REQUIRE(!forward);
    CHECK(forward.error() == EBADMSG);
}

TEST_CASE("dns wire: bad labels, lengths and counts are refused", "[dns]") {
    const auto refused = [](const bytes& b) {
        auto m = parse(b);
        return !m && m.error() == EBADMSG;
    };
    // Label types 0x40 and 0x80 are reserved.
    CHECK(refused(hex("0001 8180 0001 0000 0000 0000 41 61 00 0001 0001")));
    CHECK(refused(hex("0001 8180 0001 0000 0000 0000 81 61 00 0001 0001")));
    // A dot inside a label would read as two labels.
    CHECK(refused(hex("0001 8180 0001 0000 0000 0000 03 612e62 00 0001 0001")));
    // An A record of five bytes; a record whose RDLENGTH passes the end.
    CHECK(refused(hex("0001 8180 0001 0001 0000 0000 01 61 00 0001 0001 c00c 0001 0001 00000000 "
                      "0005 0a00000101")));
    CHECK(refused(hex(
        "0001 8180 0001 0001 0000 0000 01 61 00 0001 0001 c00c 0010 0001 00000000 0009 0a000001")));
    // 65535 questions announced in a message of 30 bytes.
    CHECK(refused(hex("0001 8180 ffff 0000 0000 0000 01 61 00 0001 0001")));
    // A question whose name is `size` bytes on the wire: three labels of 63, one to make up
    // the rest, and the root's zero byte. 255 is the most a name may take (RFC 1035 §2.3.4).
    const auto long_name = [](std::size_t size) {
        bytes m = hex("0001 8180 0001 0000 0000 0000");
        for (int i = 0; i < 3; ++i) {
            m.push_back(std::byte{63});
            m.insert(m.end(), 63, std::byte{'a'});
        }
        const std::size_t last = size - 3 * 64 - 2;
        m.push_back(static_cast<std::byte>(last));
        m.insert(m.end(), last, std::byte{'b'});
        m.insert(m.end(), {std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0}, std::byte{1}});
        return m;
    };
    CHECK(parse(long_name(255)).value().questions.at(0).name.size() == 253);
    CHECK(refused(long_name(256)));
}

TEST_CASE("dns wire: names that cannot be sent are refused before anything is sent", "[dns]") {
    CHECK(normalize("WWW.Example.Test.").value() == "www.example.test");
    CHECK(normalize("").error() == EINVAL);
    CHECK(normalize(".").error() == EINVAL);
    CHECK(normalize("a..b").error() == EINVAL);
    CHECK(normalize(".a").error() == EINVAL);
    CHECK(normalize(std::string(64, 'a') + ".test").error() == EINVAL);
    CHECK(normalize(std::string(63, 'a') + ".test").value().size() == 68);
    CHECK(emit_query(1, std::string(300, 'a')).error() == EINVAL);
}
