#pragma once
// The HTTP logic shared by the benchmark's baseline servers (epoll_server.cpp,
// asio_server.cpp): what coronet-httpd answers, byte for byte, with none of coronet under
// it, so that a comparison measures the event loop and the stack, not the server logic.
// It parses with coronet-httpd's own parser (examples/common/http.cpp, plain C++) and
// answers GET and HEAD of /hello from memory and of files under a root, with the same
// heads, statuses and small-file cache rules (files up to 256 KiB kept, at most 16 MiB in
// all, checked against the disk at most once a second, as examples/common/http_server.hpp
// does). Files above the entry bound are read whole for each request: the baseline servers
// are measured on a 64 KiB file, which is cached.
#include "examples/common/http.hpp"

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coronet::bench {

inline constexpr std::string_view hello_body = "Hello from coronet!\n"; // coronet-httpd's

// One response: the head, then the body (shared with the cache, so a cached file is never
// copied to be sent), and whether the connection stays open after it.
struct response {
    std::string head;
    std::shared_ptr<const std::string> body; // null: none
    bool keep_alive = false;
    std::size_t size() const noexcept { return head.size() + (body ? body->size() : 0); }
};

class responder {
public:
    explicit responder(std::string root) : root_(std::move(root)) {}

    // The answer to a parsed request.
    response answer(const http::request& req);
    // The answer to bytes that do not parse (400, 431, 501, 505): the connection closes.
    static response malformed(int status);

    static constexpr std::size_t cache_entry_bytes = std::size_t{256} << 10;
    static constexpr std::size_t cache_bytes = std::size_t{16} << 20;

private:
    struct entry {
        std::shared_ptr<const std::string> data;
        std::timespec mtime{};
        std::chrono::steady_clock::time_point checked;
    };
    response file(const std::string& path, const http::request& req);
    response error(int status, bool keep_alive) const;

    std::string root_;
    std::unordered_map<std::string, entry> cache_;
    std::size_t cached_bytes_ = 0;
};

// Either server's command line, "echo PORT" or "http PORT [ROOT]" (port 0: any free one);
// nullopt, after the usage on stderr, for anything else.
struct command_line {
    bool http = false;
    std::uint16_t port = 0;
    std::string root;
};
std::optional<command_line> parse_command_line(int argc, char** argv);

} // namespace coronet::bench
