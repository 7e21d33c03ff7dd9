#include "examples/common/http.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>

namespace coronet::http {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

namespace {
// RFC 9110 §5.6.2: token characters.
bool is_tchar(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
} // namespace

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool contains_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        auto comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

namespace {

parse_result fail(int status) {
    parse_result r;
    r.status = parse_status::error;
    r.error_status = status;
    return r;
}

} // namespace

std::optional<std::string_view> request::find(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return h.value;
    return std::nullopt;
}

parse_result parse_request(std::string_view bytes, const limits& lim) {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
    std::size_t start = 0;
    while (bytes.substr(start, 2) == "\r\n")
        start += 2;
    auto end = bytes.find("\r\n\r\n", start);
    if (end == std::string_view::npos) {
        if (bytes.size() - start > lim.max_head) return fail(431);
        return {};
    }
    if (end + 4 - start > lim.max_head) return fail(431);
    std::string_view head = bytes.substr(start, end - start);

    parse_result r;
    auto& req = r.req;
    auto line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);

    // request-line = method SP request-target SP HTTP-version
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return fail(400);
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto version = line.substr(sp2 + 1);
    if (!is_token(req.method) || req.target.empty()) return fail(400);
    for (char c : req.target)
        if (c <= ' ' || c == 0x7f) return fail(400);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(400);
    if (version[5] != '1') return fail(505);
    req.version_minor = version[7] - '0';

    while (!head.empty()) {
        auto e = head.find("\r\n");
        std::string_view field = head.substr(0, e);
        head = e == std::string_view::npos ? std::string_view() : head.substr(e + 2);
        auto colon = field.find(':');
        // No whitespace between the name and the colon (RFC 9112 §5.1); no obs-fold.
        if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) return fail(400);
        for (char c : field)
            if (c == '\r' || c == '\n' || c == '\0') return fail(400);
        if (req.headers.size() == lim.max_headers) return fail(431);
        req.headers.push_back({field.substr(0, colon), trim(field.substr(colon + 1))});
    }
    if (req.version_minor >= 1 && !req.find("Host")) return fail(400); // RFC 9112 §3.2

    std::size_t body = 0;
    if (req.find("Transfer-Encoding")) return fail(501);
    bool seen_length = false;
    for (const auto& h : req.headers) {
        if (!iequals(h.name, "Content-Length")) continue;
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
        if (ec != std::errc() || p != h.value.data() + h.value.size() || h.value.empty())
            return fail(400);
        if (seen_length && n != body) return fail(400);
        seen_length = true;
        body = n;
    }
    if (body > lim.max_body) return fail(413);

    std::size_t head_end = end + 4;
    if (bytes.size() - head_end < body) return {}; // the body is still coming
    req.body = bytes.substr(head_end, body);
    auto connection = req.find("Connection");
    req.keep_alive = req.version_minor >= 1
                         ? !(connection && contains_token(*connection, "close"))
                         : (connection && contains_token(*connection, "keep-alive"));
    r.status = parse_status::complete;
    r.consumed = head_end + body;
    return r;
}

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

std::string response_head(int status, std::uint64_t content_length, std::string_view content_type,
                          bool keep_alive, std::string_view extra_headers) {
    std::string h = "HTTP/1.1 " + std::to_string(status) + " ";
    h += reason_phrase(status);
    h += "\r\nServer: coronet\r\nContent-Length: " + std::to_string(content_length) +
         "\r\nContent-Type: ";
    h += content_type;
    h += keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n";
    h += extra_headers;
    return h + "\r\n";
}

std::string error_response(int status, bool keep_alive) {
    std::string body = std::to_string(status) + " " + std::string(reason_phrase(status)) + "\n";
    std::string_view extra = status == 405 ? "Allow: GET, HEAD\r\n" : "";
    return response_head(status, body.size(), "text/plain", keep_alive, extra) + body;
}

std::optional<std::filesystem::path> resolve(const std::filesystem::path& root,
                                             std::string_view target) {
    auto rel = resolve_relative(target);
    if (!rel) return std::nullopt;
    return root / *rel;
}

std::optional<std::filesystem::path> resolve_relative(std::string_view target) {
    if (target.empty() || target.front() != '/') return std::nullopt;
    target = target.substr(0, target.find_first_of("?#"));
    std::string path;
    for (std::size_t i = 0; i < target.size(); ++i) {
        char c = target[i];
        if (c == '%') {
            unsigned v = 0;
            if (i + 2 >= target.size()) return std::nullopt;
            auto [p, ec] = std::from_chars(target.data() + i + 1, target.data() + i + 3, v, 16);
            if (ec != std::errc() || p != target.data() + i + 3) return std::nullopt;
            c = static_cast<char>(v);
            i += 2;
        }
        if (c == '\0' || c == '\\') return std::nullopt;
        path.push_back(c);
    }
    // Every segment must be a name: no "." or ".." that could climb out of the root.
    std::filesystem::path rel;
    std::string_view rest = path;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        auto seg = rest.substr(0, slash);
        if (seg == "." || seg == "..") return std::nullopt;
        if (!seg.empty()) rel /= std::string(seg);
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    if (path.back() == '/') rel /= "index.html";
    return rel;
}

int file_error_status(int err) {
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case EISDIR: // a directory (the root's index.html is "/")
    case EINVAL: // neither file nor directory: a FIFO, a device
    case ELOOP:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
    case EXDEV:
        return 403;
    default:
        return 500;
    }
}

std::string_view content_type(const std::filesystem::path& file) {
    auto ext = file.extension().string();
    if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
    if (ext == ".txt") return "text/plain; charset=utf-8";
    if (ext == ".css") return "text/css";
    if (ext == ".js") return "text/javascript";
    if (ext == ".json") return "application/json";
    if (ext == ".png") return "image/png";
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".svg") return "image/svg+xml";
    return "application/octet-stream";
}

} // namespace coronet::http
