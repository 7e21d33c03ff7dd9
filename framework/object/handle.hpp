#pragma once
// handle: what user code holds instead of a pointer to a kernel object. An opaque 64-bit value,
// always a multiple of 4 and never zero when valid (as NT handles); only the handle table
// that issued it can turn it back into an object (its layout is handle_table's business).
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace coronet {

class handle {
public:
    // The null handle, which no table ever issues.
    constexpr handle() noexcept = default;
    constexpr explicit handle(std::uint64_t value) noexcept : value_(value) {}

    constexpr std::uint64_t value() const noexcept { return value_; }
    constexpr explicit operator bool() const noexcept { return value_ != 0; }
    friend constexpr auto operator<=>(handle, handle) = default;

private:
    std::uint64_t value_ = 0;
};

} // namespace coronet

template <>
struct std::hash<coronet::handle> {
    std::size_t operator()(coronet::handle h) const noexcept {
        return std::hash<std::uint64_t>{}(h.value());
    }
};
