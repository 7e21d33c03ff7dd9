#pragma once
// One thread's host stack for tests, on loopback: a scheduler, its io_uring and the stack.
#include "drivers/host/host_stack.hpp"
#include "framework/coronet.hpp"
#include "framework/process/process.hpp"
#include "framework/uring/uring.hpp"

#include <span>
#include <string>

namespace coronet::test {

inline const ipv4_address loopback(127, 0, 0, 1);

struct host_world {
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
};

inline std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

} // namespace coronet::test
