#pragma once
// What a stub resolver reads before it asks anyone: a hosts table (/etc/hosts) and its
// servers and options (/etc/resolv.conf), parsed as glibc reads them, IPv4 only.
//
// hosts: "address name [aliases...]" per line, '#' to the end of a line a comment; a line
// whose address is not IPv4 (an IPv6 line, a typo) is skipped. A name on several lines has
// every address, in file order.
// resolv.conf: "nameserver <IPv4>" lines (at most max_servers, as glibc's MAXNS; IPv6 ones
// skipped), and "options timeout:N attempts:N" (glibc's caps: timeout 30 s, attempts 5);
// other lines and options are ignored. No nameserver line means 127.0.0.1, as glibc.
#include "framework/clock.hpp"
#include "framework/net/address.hpp"
#include "framework/result.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::dns {

struct hosts_entry {
    std::string name; // normalized (wire.hpp)
    ipv4_address address;
};

class hosts_table {
public:
    static hosts_table parse(std::string_view text);
    // Every address of `name` (compared case-insensitively), in file order; none if absent.
    std::vector<ipv4_address> lookup(std::string_view name) const;
    const std::vector<hosts_entry>& entries() const noexcept { return entries_; }

private:
    std::vector<hosts_entry> entries_;
};

inline constexpr std::size_t max_servers = 3;
inline constexpr int max_timeout_seconds = 30;
inline constexpr int max_attempts = 5;

struct resolv_config {
    std::vector<endpoint> servers; // port 53 from a file; tests may name another
    duration timeout = std::chrono::seconds(5);
    int attempts = 2;

    static resolv_config parse(std::string_view text);
};

// The text of a file of at most max_config_file bytes: ENOENT, EACCES... when it cannot be
// read, EFBIG beyond the bound (these files are a few lines; a huge one is a mistake).
inline constexpr std::size_t max_config_file = 1 << 20;
result<std::string> read_config_file(const std::filesystem::path& path);

} // namespace coronet::dns
