#include "bench/servers/responder.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace coronet::bench {

namespace {

// The whole of a regular file of `size` bytes, or the errno that stopped the read.
int read_whole(int fd, std::size_t size, std::string& out) {
    out.resize(size);
    for (std::size_t off = 0; off < size;) {
        const ssize_t n = ::pread(fd, out.data() + off, size - off, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO; // the file shrank under us
        off += static_cast<std::size_t>(n);
    }
    return 0;
}

bool same_time(const std::timespec& a, const std::timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

} // namespace

response responder::error(int status, bool keep_alive) const {
    keep_alive = keep_alive && status < 500;
    return {http::error_response(status, keep_alive), nullptr, keep_alive};
}

response responder::malformed(int status) { return {http::error_response(status, false), {}}; }

response responder::answer(const http::request& req) {
    const bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) return error(405, req.keep_alive);
    if (req.target.substr(0, req.target.find('?')) == "/hello") {
        static const auto body = std::make_shared<const std::string>(hello_body);
        return {http::response_head(200, hello_body.size(), "text/plain; charset=utf-8",
                                    req.keep_alive),
                head_only ? nullptr : body, req.keep_alive};
    }
    if (root_.empty()) return error(404, req.keep_alive);
    auto path = http::resolve(root_, req.target);
    if (!path) return error(400, req.keep_alive);
    return file(path->string(), req);
}

response responder::file(const std::string& path, const http::request& req) {
    const auto now = std::chrono::steady_clock::now();
    auto hit = cache_.find(path);
    std::shared_ptr<const std::string> data;
    if (hit != cache_.end() && now - hit->second.checked < std::chrono::seconds(1)) {
        data = hit->second.data;
    } else {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return error(http::file_error_status(errno), req.keep_alive);
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return error(404, req.keep_alive);
        }
        if (hit != cache_.end() && same_time(hit->second.mtime, st.st_mtim) &&
            hit->second.data->size() == static_cast<std::size_t>(st.st_size)) {
            hit->second.checked = now;
            data = hit->second.data;
        } else {
            auto bytes = std::make_shared<std::string>();
            const int err = read_whole(fd, static_cast<std::size_t>(st.st_size), *bytes);
            if (err != 0) {
                ::close(fd);
                return error(http::file_error_status(err), false);
            }
            data = std::move(bytes);
            if (hit != cache_.end()) {
                cached_bytes_ -= hit->second.data->size();
                cache_.erase(hit);
            }
            if (data->size() <= cache_entry_bytes && cached_bytes_ + data->size() <= cache_bytes) {
                cache_[path] = {data, st.st_mtim, now};
                cached_bytes_ += data->size();
            }
        }
        ::close(fd);
    }
    std::string head =
        http::response_head(200, data->size(), http::content_type(path), req.keep_alive);
    return {std::move(head), req.method == "HEAD" ? nullptr : std::move(data), req.keep_alive};
}

std::optional<command_line> parse_command_line(int argc, char** argv) {
    command_line c;
    const bool echo = argc == 3 && std::strcmp(argv[1], "echo") == 0;
    c.http = (argc == 3 || argc == 4) && std::strcmp(argv[1], "http") == 0;
    if (echo || c.http) {
        const char* end = argv[2] + std::strlen(argv[2]);
        auto [p, ec] = std::from_chars(argv[2], end, c.port);
        if (ec == std::errc() && p == end && p != argv[2]) {
            if (argc == 4) c.root = argv[3];
            return c;
        }
    }
    std::fprintf(stderr, "usage: %s echo PORT | http PORT [ROOT]\n", argc > 0 ? argv[0] : "");
    return std::nullopt;
}

} // namespace coronet::bench
