#pragma once
// coronet-load's side of HTTP/1.1 (RFC 9112): the response head parser, and a stream that
// cuts a connection's bytes into responses whatever the reads' boundaries, keeping only the
// head (bodies are counted and skipped, never stored, so a 1 GiB body needs no 1 GiB).
//
// What it takes: a status line "HTTP/1.x NNN reason", header fields, a body framed by
// Content-Length, or none for 1xx, 204 and 304 (RFC 9112 §6.3 rule 1); keep-alive as
// HTTP/1.1 says (open unless "Connection: close"; HTTP/1.0 only with "keep-alive").
// What it refuses, as an error the caller counts: chunked transfer coding (and any other
// Transfer-Encoding) and bodies delimited by the server's close, which a load generator
// that reuses connections cannot frame; a head longer than max_head; malformed lines.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace coronet::load {

struct response_limits {
    std::size_t max_head = 16384;
    std::size_t max_headers = 100;
    std::uint64_t max_body = std::uint64_t{1} << 40;
};

enum class response_error : std::uint8_t {
    none,
    malformed,   // a status line or field that is not HTTP/1.x, a bad Content-Length
    too_large,   // a head beyond max_head or max_headers, a body beyond max_body
    unsupported, // Transfer-Encoding, or no Content-Length where a body may follow
};

struct response_head {
    int status = 0;
    int version_minor = 1;
    std::uint64_t content_length = 0; // the body's bytes (0 for 1xx, 204, 304)
    bool keep_alive = true;
    std::size_t head_bytes = 0; // status line, fields and the empty line
};

enum class head_status : std::uint8_t { complete, need_more, error };

struct head_result {
    head_status status = head_status::need_more;
    response_head head;                          // when complete
    response_error error = response_error::none; // when error
};

// Looks for one response head at the front of `bytes`.
head_result parse_response_head(std::string_view bytes, const response_limits& lim = {});

// The responses of one connection, from bytes read into space() in any pieces.
class response_stream {
public:
    explicit response_stream(const response_limits& lim = {}, std::size_t capacity = 65536);

    // Where the next read goes: never empty (the unread bytes move to the front first).
    std::span<char> space() noexcept;
    // Forgets everything, for the next connection.
    void reset() noexcept {
        begin_ = end_ = 0;
        in_body_ = false;
        body_left_ = 0;
        error_ = response_error::none;
    }
    // `n` bytes were read into space() (call next() until need_more first).
    void commit(std::size_t n) noexcept { end_ += n; }

    enum class event : std::uint8_t { response, need_more, error };
    // The next complete response (head() says what it was), or that more bytes are needed,
    // or the error that ends the connection (error() says which). After an error the stream
    // stays failed.
    event next() noexcept;
    const response_head& head() const noexcept { return head_; }
    response_error error() const noexcept { return error_; }
    // Bytes of a response begun but not complete: an end of stream now cuts it short.
    bool partial() const noexcept { return in_body_ || end_ > begin_; }

private:
    response_limits lim_;
    std::vector<char> buf_;
    std::size_t begin_ = 0, end_ = 0;
    bool in_body_ = false;
    std::uint64_t body_left_ = 0;
    response_head head_;
    response_error error_ = response_error::none;
};

} // namespace coronet::load
