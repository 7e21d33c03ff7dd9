#include "protocols/ethernet/wire.hpp"

#include <cerrno>

namespace coronet::ethernet {

int to_errno(parse_error e) noexcept { return e == parse_error::ok ? 0 : ENODATA; }

std::string_view name(parse_error e) noexcept { return e == parse_error::ok ? "ok" : "truncated"; }

parse_result<repr, parse_error> parse(view frame) noexcept {
    return repr{frame.source(), frame.destination(), frame.ethertype()};
}

parse_result<repr, parse_error> parse(std::span<const std::byte> frame) noexcept {
    auto v = view::check(frame);
    if (!v) return v.reason();
    return parse(*v);
}

std::size_t emit(const repr& r, std::span<std::byte> out) {
    wire_format::require(out.size() >= header_length, "ethernet::emit: buffer shorter than the header");
    auto v = mutable_view::unchecked(out);
    v.set_destination(r.destination);
    v.set_source(r.source);
    v.set_ethertype(r.ethertype);
    return header_length;
}

} // namespace coronet::ethernet
