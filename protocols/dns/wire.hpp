#pragma once
// DNS messages (RFC 1035 §4): what a stub resolver sends and reads. A query is one question
// of type A; an answer is parsed into its header, its question and the A and CNAME records
// of its answer section (other record types are read over and left out; the authority and
// additional sections are not read).
//
// Everything in an answer is the peer's, so parse() checks all of it before it gives a
// value: every count, length and offset against the message's end, a label of at most 63
// bytes and a name of at most 255 (§2.3.4), compression pointers (§4.1.4) that point
// backwards, into the message, and at most max_pointer_jumps of them per name (so a loop or
// a chain of pointers costs a bounded read). A message that fails any check is EBADMSG.
// Names come out lower-cased, without the final dot, for comparison as DNS does (§2.3.3).
#include "framework/net/address.hpp"
#include "framework/result.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::dns {

inline constexpr std::uint16_t server_port = 53;
inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_name_size = 255; // on the wire, with the length bytes
inline constexpr std::size_t max_label_size = 63;
inline constexpr int max_pointer_jumps = 16;
// RFC 1035 §4.2.1: a UDP message of at most 512 bytes (no EDNS0 here).
inline constexpr std::size_t max_udp_size = 512;

enum class record_type : std::uint16_t { a = 1, cname = 5 };
inline constexpr std::uint16_t class_in = 1;

enum class rcode : std::uint8_t {
    no_error = 0,
    format_error = 1,
    server_failure = 2,
    name_error = 3,
    refused = 5
};

// The header's flag bits (§4.1.1).
struct flags {
    bool response = false;            // QR
    std::uint8_t opcode = 0;          // 0: a standard query
    bool authoritative = false;       // AA
    bool truncated = false;           // TC
    bool recursion_desired = false;   // RD
    bool recursion_available = false; // RA
    dns::rcode rcode = rcode::no_error;
    friend bool operator==(const flags&, const flags&) = default;
};

struct question {
    std::string name{};
    std::uint16_t type = static_cast<std::uint16_t>(record_type::a);
    std::uint16_t klass = class_in;
    friend bool operator==(const question&, const question&) = default;
};

// An A record (address) or a CNAME record (target), class IN.
struct record {
    std::string name{};
    record_type type = record_type::a;
    std::uint32_t ttl = 0;
    ipv4_address address{};
    std::string target{};
    friend bool operator==(const record&, const record&) = default;
};

struct message {
    std::uint16_t id = 0;
    dns::flags flags{};
    std::vector<question> questions{};
    std::vector<record> answers{};
    std::uint16_t authority_count = 0;
    std::uint16_t additional_count = 0;
};

// The message in `bytes`, checked as above; EBADMSG when a check fails.
result<message> parse(std::span<const std::byte> bytes);

// A name as it is compared: lower case, no final dot. EINVAL for a name that cannot be
// sent: empty, an empty label, a label over 63 bytes or a name over 255.
result<std::string> normalize(std::string_view name);

// The bytes of `m`, names written whole (no compression); EINVAL for a name that cannot be
// sent, EMSGSIZE beyond max_udp_size.
result<std::vector<std::byte>> emit(const message& m);

// A standard query with recursion desired: one question, `name` type A class IN.
result<std::vector<std::byte>> emit_query(std::uint16_t id, std::string_view name);

} // namespace coronet::dns
