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

class host_stack final : public network_stack {
public:
    explicit host_stack(uring::uring_reactor& reactor) noexcept : reactor_(reactor) {}
    std::string_view name() const noexcept override { return "host"; }
    // EMFILE/ENFILE/ENOBUFS as socket(2) gives them.
    result<ref<socket_object>> socket(socket_type type) override;

private:
    uring::uring_reactor& reactor_;
};

sockaddr_in to_sockaddr(const endpoint& e) noexcept;
endpoint to_endpoint(const sockaddr_in& sa) noexcept;

} // namespace coronet::host
