#pragma once
// The host stack: socket system calls served by the Linux kernel's own TCP/IP through
// io_uring. Think of it as a NIC that offloads all of TCP: the same server code that runs
// on coronet's native stack runs here unchanged, so the two can be compared on one
// workload. Blocking calls (accept, connect, read, write, recv_from, send_to) are io_uring
// operations, cancellable like every other awaitable; the rest are plain system calls.
//
// Closing the last handle shuts the socket down and cancels its operations still in the
// kernel (io_uring holds the file, so close() alone would not end them); the descriptor
// itself is closed when the last reference goes, after every pending call has returned.
#include "framework/process/socket.hpp"
#include "framework/uring/reactor.hpp"

#include <netinet/in.h>

namespace coronet::host {

struct host_options {
    // A listener accepts through one multishot accept (host_socket_accept.cpp); false: one
    // accept operation per call, as on a kernel without it (for tests and comparisons).
    bool multishot_accept = true;
};

class host_stack final : public network_stack {
public:
    explicit host_stack(uring::uring_reactor& reactor, host_options opts = {}) noexcept
        : reactor_(reactor), opts_(opts) {}
    // Sockets whose last handle has closed may still have an operation in the kernel for a
    // moment (the cancel that ends their calls, a listener's multishot accept), and keep
    // themselves alive until the kernel answers. The stack lets it answer (at most a
    // second), so that none outlives the stack, nor the reactor, which goes after it.
    ~host_stack();
    host_stack(const host_stack&) = delete;
    host_stack& operator=(const host_stack&) = delete;
    std::string_view name() const noexcept override { return "host"; }
    // EMFILE/ENFILE/ENOBUFS as socket(2) gives them.
    result<ref<socket_object>> socket(socket_type type) override;

private:
    uring::uring_reactor& reactor_;
    host_options opts_;
    unsigned lingering_ = 0; // sockets holding themselves for the kernel
};

sockaddr_in to_sockaddr(const endpoint& e) noexcept;
endpoint to_endpoint(const sockaddr_in& sa) noexcept;

} // namespace coronet::host
