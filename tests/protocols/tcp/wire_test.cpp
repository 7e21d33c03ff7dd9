#include "protocols/tcp/wire.hpp"

#include <catch2/catch.hpp>
#include "tests/protocols/hex.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace coronet;

namespace {

using testing::hex;

// The SYN Linux 6.x sent from 10.0.0.1:58708 to 10.0.0.2:80 (captured on TAP, IP header
// removed): MSS 1460, SACK-permitted, timestamps, NOP, window scale 10.
const auto linux_syn = hex("e554 0050 995484d7 00000000 a0 02 faf0 df81 0000"
                           "020405b4 0402 080a 9d62b854 00000000 01 03 03 0a");
// A SYN-ACK answering it and an ACK with two SACK blocks and 5 bytes of data, both laid out
// as Linux does, their checksums computed by a reference implementation.
const auto syn_ack = hex("0050 e554 11223344 995484d8 a0 12 fe88 8775 0000"
                         "020405b4 0402 080a 00001000 9d62b854 01 030307");
const auto sack_ack = hex("0050 e554 11223345 99548cd8 d0 10 01f5 2676 0000"
                          "0101 080a 00001100 9d62b900"
                          "0101 0512 99549cd8 9954a4d8 9954acd8 9954b4d8"
                          "48656c6c6f");
const tcp::addresses out_ip{{10, 0, 0, 1}, {10, 0, 0, 2}};
const tcp::addresses in_ip{{10, 0, 0, 2}, {10, 0, 0, 1}};

// The segment with its options area replaced by `options` (a multiple of 4 bytes), data
// offset and checksum fixed up.
std::vector<std::byte> with_options(const std::vector<std::byte>& options) {
    // Sized once and filled (g++ 12 at -O3 takes insert() of a possibly empty range for a
    // read past the end: -Werror=stringop-overread).
    std::vector<std::byte> s(20 + options.size());
    std::copy_n(linux_syn.begin(), 20, s.begin());
    std::copy(options.begin(), options.end(), s.begin() + 20);
    s[12] = static_cast<std::byte>((s.size() / 4) << 4);
    store_be16(std::span(s).subspan(16), 0);
    checksum::partial sum(
        checksum::pseudo_header_sum(out_ip, 6, static_cast<std::uint16_t>(s.size())));
    store_be16(std::span(s).subspan(16), sum.add(s).checksum());
    return s;
}

} // namespace

TEST_CASE("tcp parses the captured Linux SYN, checksum and options") {
    auto r = tcp::parse(linux_syn, out_ip);
    REQUIRE(r);
    CHECK(r->source_port == port{58708});
    CHECK(r->destination_port == port{80});
    CHECK(r->sequence == 0x995484d7);
    CHECK(r->acknowledgment == 0);
    CHECK(r->flags == tcp::flag::syn);
    CHECK(r->window == 64240);
    CHECK(r->urgent_pointer == 0);
    CHECK(r->header_length() == 40);
    CHECK(r->payload_length == 0);
    CHECK(r->options.mss == 1460);
    CHECK(r->options.sack_permitted);
    CHECK(r->options.window_scale == 10);
    REQUIRE(r->options.timestamps);
    CHECK(r->options.timestamps->value == 0x9d62b854);
    CHECK(r->options.timestamps->echo_reply == 0);
    CHECK(r->options.sacks().empty());
}

TEST_CASE("tcp emit(parse(bytes)) gives every segment back, checksum included") {
    struct row {
        const char* what;
        const std::vector<std::byte>& bytes;
        tcp::addresses ip;
    };
    for (const auto& s : {row{"SYN", linux_syn, out_ip}, row{"SYN-ACK", syn_ack, in_ip},
                          row{"SACK", sack_ack, in_ip}}) {
        INFO(s.what);
        auto r = tcp::parse(s.bytes, s.ip);
        REQUIRE(r);
        auto out = s.bytes;
        std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(r->header_length()),
                  std::byte{0xaa});
        CHECK(tcp::emit(*r, out, s.ip) == r->header_length());
        CHECK(out == s.bytes);
    }
}

TEST_CASE("tcp parses SACK blocks and data") {
    auto r = tcp::parse(sack_ack, in_ip).value();
    CHECK(r.flags == tcp::flag::ack);
    CHECK(tcp::has(r.flags, tcp::flag::ack));
    CHECK_FALSE(tcp::has(r.flags, tcp::flag::ack | tcp::flag::fin));
    CHECK(r.payload_length == 5);
    REQUIRE(r.options.sacks().size() == 2);
    CHECK(r.options.sacks()[0] == tcp::sack_block{0x99549cd8, 0x9954a4d8});
    CHECK(r.options.sacks()[1] == tcp::sack_block{0x9954acd8, 0x9954b4d8});
    CHECK(r.options.timestamps == tcp::timestamps{0x1100, 0x9d62b900});
    CHECK_FALSE(r.options.mss);
    auto v = tcp::view::check(sack_ack).value();
    CHECK(v.payload().size() == 5);
    CHECK(v.payload().data() == sack_ack.data() + 52);
}

TEST_CASE("tcp emit_header sums a payload held elsewhere") {
    auto r = tcp::parse(sack_ack, in_ip).value();
    std::vector<std::byte> header(r.header_length());
    checksum::partial payload;
    payload.add(std::span(sack_ack).subspan(52, 3)).add(std::span(sack_ack).subspan(55));
    tcp::emit_header(r, header, in_ip, payload.sum());
    CHECK(std::ranges::equal(header, std::span(sack_ack).first(52)));
}

TEST_CASE("tcp options: every field emits aligned and parses back") {
    tcp::options o;
    CHECK(o.length() == 0);
    o.sack_permitted = true;
    CHECK(o.length() == 4); // NOP NOP SACK-permitted
    o.window_scale = 14;
    o.mss = 536;
    CHECK(o.length() == 12);
    o.sack_blocks[0] = {1, 2};
    o.sack_count = 1;
    CHECK(o.length() == 24);
    std::vector<std::byte> area(o.length());
    CHECK(tcp::write_options(o, area) == 24);
    CHECK(area == hex("02040218 01010402 0103030e 0101050a 00000001 00000002"));
    CHECK(tcp::read_options(area).value() == o);
    tcp::options four;
    four.sack_count = 4;
    CHECK(four.length() == 36);
    four.timestamps = tcp::timestamps{1, 2};
    std::vector<std::byte> big(48);
    CHECK_THROWS_AS(tcp::write_options(four, big), std::length_error); // 48 bytes do not fit
}

TEST_CASE("tcp options: NOP, EOL and unknown options") {
    // NOP, an unknown kind 30 (MPTCP) of length 4, MSS, EOL, then bytes after EOL are ignored.
    auto o = tcp::read_options(hex("01 1e04abcd 020405b4 00 ff ff ff")).value();
    CHECK(o.mss == 1460);
    CHECK(tcp::read_options({}).value() == tcp::options{});
}

TEST_CASE("tcp refuses malformed options with the reason") {
    struct row {
        const char* what;
        std::vector<std::byte> options;
        tcp::parse_error reason;
    };
    const row rows[] = {
        {"length 0", hex("1e000000"), tcp::parse_error::bad_option_length},
        {"length 1", hex("1e010000"), tcp::parse_error::bad_option_length},
        {"MSS of length 3", hex("02030500"), tcp::parse_error::bad_option_length},
        {"window scale of length 4", hex("03040700"), tcp::parse_error::bad_option_length},
        {"SACK-permitted of length 3", hex("04030000"), tcp::parse_error::bad_option_length},
        {"timestamps of length 8", hex("0808000000010000"), tcp::parse_error::bad_option_length},
        {"SACK with no block", hex("01010502"), tcp::parse_error::bad_option_length},
        {"SACK of length 2 + 7", hex("0109 00000001 000000 000000"),
         tcp::parse_error::bad_option_length},
        {"an option past the header", hex("01010208"), tcp::parse_error::option_overrun},
        {"a kind without its length", hex("01010102"), tcp::parse_error::option_overrun},
        {"timestamps cut short", hex("080a0000 00010000"), tcp::parse_error::option_overrun},
    };
    for (const auto& r : rows) {
        auto p = tcp::parse(with_options(r.options), out_ip);
        INFO(r.what);
        CHECK(p.reason() == r.reason);
        CHECK(p.error() == EINVAL);
    }
}

TEST_CASE("tcp refuses malformed headers with the reason") {
    auto offset4 = with_options({});
    offset4[12] = std::byte{0x40};
    auto offset15 = with_options({});
    offset15[12] = std::byte{0xf0};
    auto flipped = linux_syn;
    flipped[5] ^= std::byte{0x80};
    CHECK(tcp::parse(offset4, out_ip, {.verify_checksum = false}).reason() ==
          tcp::parse_error::bad_data_offset);
    CHECK(tcp::parse(offset15, out_ip, {.verify_checksum = false}).reason() ==
          tcp::parse_error::truncated);
    CHECK(tcp::parse(flipped, out_ip).reason() == tcp::parse_error::bad_checksum);
    CHECK(tcp::parse(flipped, out_ip).error() == EBADMSG);
    CHECK(tcp::parse(linux_syn, {{10, 0, 0, 1}, {10, 0, 0, 3}}).reason() ==
          tcp::parse_error::bad_checksum);
    std::vector<std::byte> huge(65536);
    huge[12] = std::byte{0x50};
    CHECK(tcp::parse(huge, out_ip).reason() == tcp::parse_error::oversize);
}

TEST_CASE("a tcp segment cut at every length is refused") {
    for (std::size_t n = 0; n < linux_syn.size(); ++n) {
        auto r = tcp::parse(std::span(linux_syn).first(n), out_ip);
        INFO("length " << n);
        CHECK(r.reason() == tcp::parse_error::truncated);
        CHECK(r.error() == ENODATA);
    }
}

TEST_CASE("tcp emit refuses what it cannot encode") {
    tcp::repr r;
    r.options.sack_count = 4;
    r.options.timestamps = tcp::timestamps{};
    std::vector<std::byte> out(80);
    CHECK_THROWS_AS(tcp::emit(r, out, out_ip), std::length_error);
    tcp::repr small;
    CHECK_THROWS_AS(tcp::emit(small, std::span(out).first(19), out_ip), std::length_error);
}

TEST_CASE("tcp survives random bytes") {
    std::mt19937 rng(9293);
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b(rng() % 72);
        for (auto& x : b)
            x = static_cast<std::byte>(rng());
        if (b.size() > 20 && i % 2 == 0)
            b[12] = static_cast<std::byte>((5 + rng() % ((b.size() - 20) / 4 + 1)) << 4);
        auto r = tcp::parse(b, out_ip, {.verify_checksum = i % 4 == 0});
        REQUIRE(r.has_value() == (r.reason() == tcp::parse_error::ok));
    }
}
