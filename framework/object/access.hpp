#pragma once
// access_mask: the rights a handle grants on its object. Rights are granted once, when the
// handle is created (checked against the rights the object's type defines), and tested on
// every system call, so the test is a mask and a compare.
#include <cstdint>

namespace coronet {

class access_mask {
public:
    using bits_type = std::uint32_t;

    constexpr access_mask() noexcept = default;
    constexpr explicit access_mask(bits_type bits) noexcept : bits_(bits) {}

    constexpr bits_type bits() const noexcept { return bits_; }
    constexpr bool empty() const noexcept { return bits_ == 0; }
    // True when every right in `required` is granted here (the empty mask is always contained).
    constexpr bool contains(access_mask required) const noexcept {
        return (bits_ & required.bits_) == required.bits_;
    }

    friend constexpr access_mask operator|(access_mask a, access_mask b) noexcept {
        return access_mask{a.bits_ | b.bits_};
    }
    friend constexpr access_mask operator&(access_mask a, access_mask b) noexcept {
        return access_mask{a.bits_ & b.bits_};
    }
    // The rights of `a` that `b` does not have.
    friend constexpr access_mask operator-(access_mask a, access_mask b) noexcept {
        return access_mask{a.bits_ & ~b.bits_};
    }
    constexpr access_mask& operator|=(access_mask other) noexcept { return *this = *this | other; }
    constexpr access_mask& operator&=(access_mask other) noexcept { return *this = *this & other; }
    friend constexpr bool operator==(access_mask, access_mask) = default;

private:
    bits_type bits_ = 0;
};

// The named rights. Which of them mean something depends on the object's type
// (default_valid_access in object_type.hpp).
namespace access {
inline constexpr access_mask none{0};
inline constexpr access_mask read{1u << 0};      // read, recv, accept
inline constexpr access_mask write{1u << 1};     // write, send
inline constexpr access_mask control{1u << 2};   // set and get options, arm a timer
inline constexpr access_mask wait{1u << 3};      // wait for the object to be signalled
inline constexpr access_mask signal{1u << 4};    // set an event, release a semaphore, kill
inline constexpr access_mask duplicate{1u << 5}; // duplicate_handle from this handle
inline constexpr access_mask query{1u << 6};     // read state and counters
// Every right there is. When creating a handle it asks for every right the caller may have
// (the type's valid rights on insert, the source handle's rights on duplicate_handle).
inline constexpr access_mask all = read | write | control | wait | signal | duplicate | query;
} // namespace access

} // namespace coronet
