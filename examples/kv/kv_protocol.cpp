#include "examples/kv/kv_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace coronet::kv {

namespace {

// Splits `s` at single spaces; more than `max` words, or an empty one (two spaces, a
// leading or trailing space), gives nullopt.
template <std::size_t max>
std::optional<std::array<std::string_view, max>> words(std::string_view s, std::size_t& count) {
    std::array<std::string_view, max> out{};
    count = 0;
    for (;;) {
        const auto sp = s.find(' ');
        const auto word = s.substr(0, sp);
        if (word.empty() || count == max) return std::nullopt;
        out[count++] = word;
        if (sp == std::string_view::npos) return out;
        s.remove_prefix(sp + 1);
    }
}

// A decimal of at most 7 digits (up to 9,999,999: above any value limit), no sign or space.
std::optional<std::size_t> decimal(std::string_view s) {
    if (s.empty() || s.size() > 7) return std::nullopt;
    std::size_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

} // namespace

bool valid_key(std::string_view key) noexcept {
    return !key.empty() && key.size() <= max_key &&
           std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

parsed parse_request(std::string_view line, std::size_t value_limit) {
    if (line.size() > max_line || line.empty() || line.back() != '\n') return {{}, line_too_long};
    line.remove_suffix(1);
    std::size_t n = 0;
    const auto w = words<3>(line, n);
    if (!w) {
        // An unknown first word is that, whatever follows; else the words are wrong.
        const auto first = line.substr(0, line.find(' '));
        if (first != "GET" && first != "SET" && first != "DEL") return {{}, unknown_command};
        return {{}, bad_request};
    }
    const auto& v = *w;
    command op;
    if (v[0] == "GET")
        op = command::get;
    else if (v[0] == "SET")
        op = command::set;
    else if (v[0] == "DEL")
        op = command::del;
    else
        return {{}, unknown_command};
    // SET's length says where the next request starts, so it is read first: a SET with a
    // good length and a bad key is refused with its data to skip, the connection kept.
    if (op == command::set) {
        if (n != 3) return {{}, bad_request};
        const auto len = decimal(v[2]);
        if (!len) return {{}, bad_length};
        if (*len > value_limit) return {{}, value_too_large};
        if (!valid_key(v[1])) return {{}, bad_key, *len + 1};
        return {request{op, std::string(v[1]), *len}, {}};
    }
    if (n != 2) return {{}, bad_request};
    if (!valid_key(v[1])) return {{}, bad_key};
    return {request{op, std::string(v[1]), 0}, {}};
}

std::string format_request(command op, std::string_view key, std::size_t length) {
    std::string s = op == command::get ? "GET " : op == command::set ? "SET " : "DEL ";
    s += key;
    if (op == command::set) {
        s += ' ';
        s += std::to_string(length);
    }
    s += '\n';
    return s;
}

std::string format_error(const refusal& r) {
    std::string s = "ERROR ";
    s += r.reason;
    s += '\n';
    return s;
}

result<reply> parse_reply(std::string_view line) {
    if (line.empty() || line.back() != '\n') return error{EBADMSG};
    line.remove_suffix(1);
    if (line == "NOT_FOUND") return reply{reply_kind::not_found, 0, {}};
    if (line == "STORED") return reply{reply_kind::stored, 0, {}};
    if (line == "DELETED") return reply{reply_kind::deleted, 0, {}};
    if (line.starts_with("ERROR ") && line.size() > 6)
        return reply{reply_kind::error, 0, std::string(line.substr(6))};
    if (line.starts_with("VALUE ")) {
        if (const auto len = decimal(line.substr(6)); len && *len <= max_value)
            return reply{reply_kind::value, *len, {}};
    }
    return error{EBADMSG};
}

} // namespace coronet::kv
