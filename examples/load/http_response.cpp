#include "examples/load/http_response.hpp"

#include "examples/common/http.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <span>

namespace coronet::load {
namespace {

head_result fail(response_error e) {
    head_result r;
    r.status = head_status::error;
    r.error = e;
    return r;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace

head_result parse_response_head(std::string_view bytes, const response_limits& lim) {
    auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos)
        return bytes.size() >= lim.max_head ? fail(response_error::too_large) : head_result{};
    if (end + 4 > lim.max_head) return fail(response_error::too_large);
    std::string_view head = bytes.substr(0, end);
    auto line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);

    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4); a
    // missing SP after the code is tolerated, as clients do.
    head_result r;
    auto& h = r.head;
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !is_digit(line[7]) ||
        line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line.size() > 12 && line[12] != ' '))
        return fail(response_error::malformed);
    h.version_minor = line[7] - '0';
    h.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (h.status < 100 || h.status > 599) return fail(response_error::malformed);
    for (char c : line)
        if (c == '\0' || c == '\n' || c == '\r') return fail(response_error::malformed);

    bool seen_length = false, closes = false, keeps = false;
    std::size_t fields = 0;
    while (!head.empty()) {
        auto e = head.find("\r\n");
        std::string_view field = head.substr(0, e);
        head = e == std::string_view::npos ? std::string_view() : head.substr(e + 2);
        auto colon = field.find(':');
        if (colon == std::string_view::npos || !http::is_token(field.substr(0, colon)))
            return fail(response_error::malformed);
        for (char c : field)
            if (c == '\r' || c == '\n' || c == '\0') return fail(response_error::malformed);
        if (++fields > lim.max_headers) return fail(response_error::too_large);
        auto name = field.substr(0, colon);
        auto value = http::trim(field.substr(colon + 1));
        if (http::iequals(name, "Transfer-Encoding")) return fail(response_error::unsupported);
        if (http::iequals(name, "Connection")) {
            closes = closes || http::contains_token(value, "close");
            keeps = keeps || http::contains_token(value, "keep-alive");
        }
        if (!http::iequals(name, "Content-Length")) continue;
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (value.empty() || ec != std::errc() || p != value.data() + value.size())
            return fail(ec == std::errc::result_out_of_range ? response_error::too_large
                                                             : response_error::malformed);
        if (seen_length && n != h.content_length) return fail(response_error::malformed);
        seen_length = true;
        h.content_length = n;
    }
    const bool no_body = h.status < 200 || h.status == 204 || h.status == 304;
    if (no_body)
        h.content_length = 0;
    else if (!seen_length)
        return fail(response_error::unsupported); // the body would end at the server's close
    if (h.content_length > lim.max_body) return fail(response_error::too_large);
    h.keep_alive = h.version_minor >= 1 ? !closes : keeps;
    h.head_bytes = end + 4;
    r.status = head_status::complete;
    return r;
}

response_stream::response_stream(const response_limits& lim, std::size_t capacity)
    : lim_(lim), buf_(std::max(capacity, lim.max_head)) {}

std::span<char> response_stream::space() noexcept {
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == buf_.size()) { // a head that began late in the buffer: bring it forward
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return std::span(buf_).subspan(end_);
}

response_stream::event response_stream::next() noexcept {
    if (error_ != response_error::none) return event::error;
    if (!in_body_) {
        auto r = parse_response_head(std::string_view(buf_.data() + begin_, end_ - begin_), lim_);
        if (r.status == head_status::need_more) return event::need_more;
        if (r.status == head_status::error) {
            error_ = r.error;
            return event::error;
        }
        head_ = r.head;
        begin_ += r.head.head_bytes;
        in_body_ = true;
        body_left_ = r.head.content_length;
    }
    auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, end_ - begin_));
    begin_ += skip;
    body_left_ -= skip;
    if (body_left_ > 0) return event::need_more;
    in_body_ = false;
    return event::response;
}

} // namespace coronet::load
