#include "protocols/dns/connect.hpp"

#include <charconv>

namespace coronet::dns {

namespace {

task<result<handle>> connect_to(process& p, resolver& r, result<host_port> target) {
    if (!target) co_return error{target.error()};
    auto addresses = co_await r.resolve(target->host);
    if (!addresses) co_return error{addresses.error()};
    int last = EHOSTUNREACH;
    for (const auto& a : *addresses) {
        auto h = co_await p.connect(endpoint{a, target->port});
        if (h) co_return *h;
        last = h.error();
    }
    co_return error{last};
}

task<result<handle>> connect_with_system(process& p, result<host_port> target) {
    resolver r(p, system_options());
    co_return co_await connect_to(p, r, std::move(target));
}

} // namespace

result<host_port> host_port::parse(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return error{EINVAL};
    const auto digits = text.substr(colon + 1);
    std::uint16_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size() || n == 0) return error{EINVAL};
    return host_port{std::string(text.substr(0, colon)), n};
}

// The text is parsed before the task starts, so the caller's string may go.
task<result<handle>> connect(process& p, resolver& r, std::string_view name_and_port) {
    return connect_to(p, r, host_port::parse(name_and_port));
}

task<result<handle>> connect(process& p, std::string_view name_and_port) {
    return connect_with_system(p, host_port::parse(name_and_port));
}

} // namespace coronet::dns
