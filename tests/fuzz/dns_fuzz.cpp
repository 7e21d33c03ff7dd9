// DNS message parser: an accepted message's names are at most 253 characters and it holds no
// more records than its header counts; a message that emits (names whole, at most 512
// bytes) parses back to the same header flags, questions and records.
#include "protocols/dns/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace coronet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::bytes_of(data, size);
    auto m = dns::parse(in);
    if (!m) return 0;
    FUZZ_CHECK(size >= dns::header_size);
    const auto ancount = static_cast<std::size_t>(std::to_integer<unsigned>(in[6]) << 8 |
                                                  std::to_integer<unsigned>(in[7]));
    FUZZ_CHECK(m->answers.size() <= ancount);
    for (const auto& q : m->questions)
        FUZZ_CHECK(q.name.size() <= dns::max_name_size - 2);
    for (const auto& r : m->answers)
        FUZZ_CHECK(r.name.size() <= dns::max_name_size - 2 &&
                   r.target.size() <= dns::max_name_size - 2);
    auto out = dns::emit(*m);
    if (!out) return 0; // a root name, or longer than 512 bytes written without compression
    auto again = dns::parse(*out);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->id == m->id && again->flags == m->flags);
    FUZZ_CHECK(again->questions == m->questions && again->answers == m->answers);
    return 0;
}
