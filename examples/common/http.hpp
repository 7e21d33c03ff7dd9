#pragma once
// A small HTTP/1.1 request parser and response writer for the httpd example (RFC 9112).
//
// parse_request looks at the bytes received so far on a connection and either finds one
// complete request at their front (head and, with Content-Length, body), says more bytes
// are needed, or names the status the request earns (400, 431, 501, 505). A caller with
// pipelined requests in its buffer calls it again after consuming `consumed` bytes. The
// parsed request's strings view the caller's buffer: consume after using them.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::http {

// Field-value helpers (RFC 9110 §5.6), shared by the request parser and coronet-load's
// response parser.
bool iequals(std::string_view a, std::string_view b); // ASCII, without case
bool is_token(std::string_view s);                    // RFC 9110 §5.6.2
std::string_view trim(std::string_view s);            // optional whitespace at both ends
bool contains_token(std::string_view list, std::string_view token); // "a, close" has "close"

struct header {
    std::string_view name;
    std::string_view value;
};

struct request {
    std::string_view method;
    std::string_view target;
    int version_minor = 1; // HTTP/1.x
    std::vector<header> headers;
    std::string_view body;
    bool keep_alive = true; // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
    // The header's value (names compare without case), if present.
    std::optional<std::string_view> find(std::string_view name) const;
};

struct limits {
    std::size_t max_head = 8192;        // request line + headers; beyond: 431
    std::size_t max_headers = 100;      // beyond: 431
    std::size_t max_body = 1024 * 1024; // Content-Length beyond: 413
};

enum class parse_status : std::uint8_t { complete, need_more, error };

struct parse_result {
    parse_status status = parse_status::need_more;
    request req;              // when complete
    std::size_t consumed = 0; // bytes of head and body, when complete
    int error_status = 0;     // when error: 400, 413, 431, 501, 505
};

parse_result parse_request(std::string_view bytes, const limits& lim = {});

// "HTTP/1.1 404 Not Found\r\nContent-Length: ..\r\nContent-Type: ..\r\nConnection: ..\r\n\r\n"
std::string response_head(int status, std::uint64_t content_length, std::string_view content_type,
                          bool keep_alive, std::string_view extra_headers = {});
std::string_view reason_phrase(int status);
// A whole small response whose body is the reason phrase and a newline.
std::string error_response(int status, bool keep_alive);

// The file a request target names, relative to the root: the query cut off, %XX decoded,
// "/" meaning index.html; nullopt for a target that is not an origin-form path or that
// would climb out ("..", NUL). Symbolic links are the opener's business (fs::open_beneath).
std::optional<std::filesystem::path> resolve_relative(std::string_view target);
// That file under `root`.
std::optional<std::filesystem::path> resolve(const std::filesystem::path& root,
                                             std::string_view target);
// The status a failed file lookup earns (nginx's choices): 404 for what is not a regular
// file there (ENOENT, ENOTDIR, EISDIR, EINVAL, ELOOP, ENAMETOOLONG), 403 for EACCES,
// EPERM and EXDEV (a symbolic link out of the root, as nginx's disable_symlinks), 500
// otherwise.
int file_error_status(int err);
// A Content-Type for the file's extension ("application/octet-stream" when unknown).
std::string_view content_type(const std::filesystem::path& file);

} // namespace coronet::http
