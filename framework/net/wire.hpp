#pragma once
// What the wire formats (protocols/*/wire.hpp) share.
//
// parse_result<T, Reason> is a result<T> that also says why a frame was refused. The errno
// value tells a caller what kind of failure it is; the reason names the exact check that failed
// so that an input path can count drops per cause, like /proc/net/snmp does. Each protocol has
// its own Reason enum with `ok` first and a to_errno(Reason) that maps each reason to one of:
//
//   ENODATA          truncated: the buffer holds fewer bytes than the headers say
//   EINVAL           malformed: a length or option field contradicts the rest of the header
//   EPROTONOSUPPORT  well formed, but a version, type or address family this stack lacks
//   EBADMSG          the checksum does not verify
#include "framework/result.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <string_view>
#include <stdexcept>
#include <utility>

namespace coronet {

template <class T, class Reason>
class [[nodiscard]] parse_result : public result<T> {
public:
    parse_result(T value) : result<T>(std::move(value)) {}
    parse_result(Reason why) : result<T>(coronet::error{to_errno(why)}), reason_(why) {}
    // Reason::ok when parsing succeeded.
    Reason reason() const noexcept { return reason_; }

private:
    Reason reason_{};
};

// Each protocol's parse_error enum comes with one table row per reason, in the enum's
// order: the name its drop counter goes by, and its errno meaning.
struct reason_row {
    std::string_view name;
    int errno_value;
};
template <class Reason, std::size_t N>
struct reason_table {
    std::array<reason_row, N> rows;
    constexpr std::string_view name(Reason r) const noexcept {
        auto i = static_cast<std::size_t>(r);
        return i < N ? rows[i].name : std::string_view("unknown");
    }
    constexpr int to_errno(Reason r) const noexcept {
        auto i = static_cast<std::size_t>(r);
        return i < N ? rows[i].errno_value : EINVAL;
    }
};

namespace wire_format {

// Emitting into a buffer shorter than the computed length, or emitting a header whose fields
// cannot be encoded, is a bug in the caller (it computes lengths before it emits): throw.
inline void require(bool condition, const char* what) {
    if (!condition) throw std::length_error(what);
}

} // namespace wire_format
} // namespace coronet
