#include "protocols/dns/config.hpp"

#include "protocols/dns/wire.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <system_error>

namespace coronet::dns {

namespace {

// Calls f(words of the line) for each line of `text`, blanks and comments (from any of
// `comment` to the end of the line) dropped.
template <class F>
void for_each_line(std::string_view text, std::string_view comment, F f) {
    while (!text.empty()) {
        const auto eol = text.find('\n');
        auto line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        line = line.substr(0, line.find_first_of(comment));
        std::vector<std::string_view> words;
        for (std::size_t at = 0;;) {
            at = line.find_first_not_of(" \t\r", at);
            if (at == std::string_view::npos) break;
            const auto stop = std::min(line.find_first_of(" \t\r", at), line.size());
            words.push_back(line.substr(at, stop - at));
            at = stop;
        }
        if (!words.empty()) f(words);
    }
}

// "timeout:3" gives 3 under "timeout:"; a value that is not a number leaves `value` alone.
void option_value(std::string_view word, std::string_view key, int& value, int low, int high) {
    if (!word.starts_with(key)) return;
    word.remove_prefix(key.size());
    int n = 0;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
    if (ec != std::errc{} || end != word.data() + word.size()) return;
    value = std::clamp(n, low, high);
}

} // namespace

hosts_table hosts_table::parse(std::string_view text) {
    hosts_table t;
    for_each_line(text, "#", [&](const std::vector<std::string_view>& words) {
        auto address = ipv4_address::parse(words[0]);
        if (!address) return; // IPv6 or not an address at all
        for (std::size_t i = 1; i < words.size(); ++i) {
            if (auto name = normalize(words[i])) t.entries_.push_back({std::move(*name), *address});
        }
    });
    return t;
}

std::vector<ipv4_address> hosts_table::lookup(std::string_view name) const {
    std::vector<ipv4_address> out;
    auto wanted = normalize(name);
    if (!wanted) return out;
    for (const auto& e : entries_) {
        if (e.name == *wanted && std::find(out.begin(), out.end(), e.address) == out.end())
            out.push_back(e.address);
    }
    return out;
}

resolv_config resolv_config::parse(std::string_view text) {
    resolv_config c;
    int timeout =
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(c.timeout).count());
    // glibc's resolv.conf takes ';' for a comment as well as '#'.
    for_each_line(text, "#;", [&](const std::vector<std::string_view>& words) {
        if (words[0] == "nameserver" && words.size() >= 2 && c.servers.size() < max_servers) {
            if (auto a = ipv4_address::parse(words[1])) c.servers.push_back({*a, dns::server_port});
        } else if (words[0] == "options") {
            for (std::size_t i = 1; i < words.size(); ++i) {
                option_value(words[i], "timeout:", timeout, 1, max_timeout_seconds);
                option_value(words[i], "attempts:", c.attempts, 1, max_attempts);
            }
        }
    });
    c.timeout = std::chrono::seconds(timeout);
    if (c.servers.empty()) c.servers.push_back({ipv4_address(127, 0, 0, 1), dns::server_port});
    return c;
}

result<std::string> read_config_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return error{ec.value()};
    if (size > max_config_file) return error{EFBIG};
    std::ifstream in(path, std::ios::binary);
    if (!in) return error{EACCES};
    std::string text(size, '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

} // namespace coronet::dns
