#pragma once
// The coronet-kv wire protocol: text lines ending in LF, values length-prefixed so they may
// hold any byte (as memcached's text protocol, smaller).
//
//   GET <key>\n                 -> VALUE <length>\n<data>\n   or NOT_FOUND\n
//   SET <key> <length>\n<data>\n -> STORED\n                   or ERROR store full\n
//   DEL <key>\n                 -> DELETED\n                  or NOT_FOUND\n
//
// A key is 1 to 250 bytes of printable ASCII without space (0x21-0x7e); a length is decimal,
// at most max_value. No CR is stripped: "GET k\r\n" names the key "k\r", which is refused.
//
// Errors are "ERROR <reason>\n". Those after which the request's end is still known (an
// unknown command, a bad key (a SET's data is read past), a wrong number of words, a full
// store) leave the connection open; those after which it is not (a line longer than
// max_line, a bad or too large length, data not followed by LF) are answered and the
// connection is closed, since the bytes that follow could not be told apart from requests.
#include "framework/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace coronet::kv {

inline constexpr std::size_t max_key = 250;
// What the protocol allows; a server may take less (config::max_value).
inline constexpr std::size_t max_value = std::size_t{1} << 20;
inline constexpr std::size_t max_line = 512; // "SET " + key + " " + length + "\n" fits

enum class command : unsigned char { get, set, del };

struct request {
    command op = command::get;
    std::string key;
    std::size_t length = 0; // of SET's data, which follows the line
};

// Why a request is refused: the reply's text and whether the connection closes after it.
struct refusal {
    std::string_view reason;
    bool closes = false;
};

inline constexpr refusal unknown_command{"unknown command", false};
inline constexpr refusal bad_request{"bad request", false}; // missing or extra words
inline constexpr refusal bad_key{"bad key", false};
inline constexpr refusal store_full{"store full", false};
inline constexpr refusal line_too_long{"line too long", true};
inline constexpr refusal bad_length{"bad length", true};
inline constexpr refusal value_too_large{"value too large", true};
inline constexpr refusal bad_data_chunk{"bad data chunk", true};
inline constexpr refusal too_many_connections{"too many connections", true};

bool valid_key(std::string_view key) noexcept;

// One request line, its LF included (as stream_reader::read_until gives it). A SET longer
// than `value_limit` is refused with value_too_large.
struct parsed {
    std::optional<request> req;
    refusal why{};        // when !req
    std::size_t skip = 0; // when !req: bytes of a refused SET's data (and LF) to read past
};
parsed parse_request(std::string_view line, std::size_t value_limit = max_value);

// The request and reply lines, as sent.
std::string format_request(command op, std::string_view key, std::size_t length = 0);
std::string format_error(const refusal& r);

// A reply line (LF included), as the client reads it.
enum class reply_kind : unsigned char { value, not_found, stored, deleted, error };
struct reply {
    reply_kind kind = reply_kind::error;
    std::size_t length = 0; // of a VALUE's data
    std::string reason;     // of an ERROR
};
// EBADMSG for a line that is no reply of this protocol.
result<reply> parse_reply(std::string_view line);

} // namespace coronet::kv
