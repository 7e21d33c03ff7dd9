#pragma once
// object_type: what a kernel object is, recorded in its header so that a typed lookup can
// check it without a dynamic_cast. The enum is open: values from first_user on are free for
// object types defined outside the framework.
#include "framework/object/access.hpp"

#include <cstdint>

namespace coronet {

enum class object_type : std::uint16_t {
    event,
    semaphore,
    timer,
    socket,
    listener,
    nic,
    process,
    first_user = 256,
};

// The rights that mean something for each built-in type; asking a handle for any other right
// is EINVAL. A type from first_user on passes its own set to kernel_object and gets only
// query and duplicate here.
constexpr access_mask default_valid_access(object_type type) noexcept {
    using namespace access;
    switch (type) {
    case object_type::event:
    case object_type::semaphore:
        return wait | signal | query | duplicate;
    case object_type::timer:
        return wait | control | query | duplicate;
    case object_type::socket:
        return read | write | control | wait | query | duplicate;
    case object_type::listener:
        return read | control | wait | query | duplicate;
    case object_type::nic:
        return read | write | control | wait | query | duplicate;
    case object_type::process:
        return wait | signal | control | query | duplicate;
    default:
        return query | duplicate;
    }
}

} // namespace coronet
