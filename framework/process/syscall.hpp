#pragma once
// The system-call table. Every call a process makes has a number, a name, the type of
// object its handle must name (if it takes one) and the rights that handle must grant.
// process::enter() does what a kernel's dispatcher does with this table: count the call,
// look the handle up, check its type and rights, and only then run kernel code.
#include "framework/object/access.hpp"
#include "framework/object/object_type.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace coronet {

enum class sysno : std::uint16_t {
    nop,
    close,
    duplicate_handle,
    sleep,
    create_event,
    set_event,
    reset_event,
    create_semaphore,
    release_semaphore,
    wait,
    socket,
    bind,
    listen,
    accept,
    connect,
    read,
    write,
    send_to,
    recv_from,
    shutdown,
    get_socket_name,
    get_peer_name,
    set_socket_option,
    get_socket_option,
    recv_zc,
    send_zc,
    tcp_info,
    count
};

inline constexpr std::size_t syscall_count = static_cast<std::size_t>(sysno::count);

struct syscall_descriptor {
    std::string_view name;
    std::optional<object_type> object; // the type its handle must name; none: any or no handle
    access_mask rights;                // rights the handle must grant
};

inline constexpr std::array<syscall_descriptor, syscall_count> syscall_table{{
    {"nop", std::nullopt, access::none},
    {"close", std::nullopt, access::none},
    {"duplicate_handle", std::nullopt, access::duplicate},
    {"sleep", std::nullopt, access::none},
    {"create_event", std::nullopt, access::none},
    {"set_event", object_type::event, access::signal},
    {"reset_event", object_type::event, access::signal},
    {"create_semaphore", std::nullopt, access::none},
    {"release_semaphore", object_type::semaphore, access::signal},
    {"wait", std::nullopt, access::wait},
    {"socket", std::nullopt, access::none},
    {"bind", object_type::socket, access::control},
    {"listen", object_type::socket, access::control},
    {"accept", object_type::socket, access::read},
    {"connect", object_type::socket, access::write},
    {"read", object_type::socket, access::read},
    {"write", object_type::socket, access::write},
    {"send_to", object_type::socket, access::write},
    {"recv_from", object_type::socket, access::read},
    {"shutdown", object_type::socket, access::control},
    {"get_socket_name", object_type::socket, access::query},
    {"get_peer_name", object_type::socket, access::query},
    {"set_socket_option", object_type::socket, access::control},
    {"get_socket_option", object_type::socket, access::query},
    {"recv_zc", object_type::socket, access::read},
    {"send_zc", object_type::socket, access::write},
    {"tcp_info", object_type::socket, access::query},
}};

constexpr const syscall_descriptor& describe(sysno n) noexcept { return syscall_table[static_cast<std::size_t>(n)]; }

} // namespace coronet
