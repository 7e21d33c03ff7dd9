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

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <memory>
#include <netinet/in.h>

namespace coronet::host {

struct host_options {
    // A listener accepts through one multishot accept (host_socket_accept.cpp); false: one
    // accept operation per call, as on a kernel without it (for tests and comparisons).
    bool multishot_accept = true;
    // recv_zc's ring (receive_buffers.hpp), made on the first recv_zc: buffers and the
    // bytes in each (a multiple of 64). 256 of 16 KiB: 4 MiB, a loopback segment in one.
    std::uint32_t receive_buffers = 256;
    std::uint32_t receive_buffer_size = 16384;
    // Every socket the stack makes starts with SO_REUSEPORT (socket_option::reuse_port, which
    // can still turn it off before bind): one stack per shard, each listening on the same
    // port, and the kernel spreads the connections (and datagrams) across them. Off, a
    // second listener on a port in use fails with EADDRINUSE, as two unrelated servers must.
    bool reuse_port = false;
    // With reuse_port: every stream listener attaches cpu_steering.hpp's program, which gives
    // a connection to listener (CPU that took its SYN) % steer_by_cpu instead of the kernel's
    // 4-tuple hash; the number of shards listening, 0 for off. Listener i (the i-th to
    // listen) should be the shard pinned to CPU i.
    std::uint32_t steer_by_cpu = 0;
};

class receive_buffers;
class host_socket;

// A host_socket's place on its stack's list of sockets, which the socket table walks.
struct socket_link : boost::intrusive::list_base_hook<
                         boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
    explicit socket_link(host_socket* s) noexcept : owner(s) {}
    host_socket* owner;
};

class host_stack final : public network_stack {
public:
    explicit host_stack(uring::uring_reactor& reactor, host_options opts = {}) noexcept;
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
    // The sockets coronet holds a descriptor of (host_socket_row.cpp): from getsockname,
    // getpeername, TCP_INFO, SIOCINQ/SIOCOUTQ (UDP: SO_MEMINFO, as ss) and the kernel's
    // sock_diag for the timer. What the kernel keeps alone (connections not yet accepted,
    // TIME-WAIT after close) is for ss to show.
    result<std::vector<socket_row>> socket_rows() const override;

    uring::uring_reactor& reactor() noexcept { return reactor_; }
    // recv_zc's buffers, made on first use; ENOMEM (or the kernel's error) if they cannot be.
    result<receive_buffers*> lending_buffers();
    // nullptr until the first recv_zc.
    receive_buffers* lending_buffers_if_made() noexcept { return lending_.get(); }

private:
    friend class host_socket;
    uring::uring_reactor& reactor_;
    host_options opts_;
    unsigned lingering_ = 0; // sockets holding themselves for the kernel
    boost::intrusive::list<socket_link, boost::intrusive::constant_time_size<false>> sockets_;
    std::unique_ptr<receive_buffers> lending_;
};

sockaddr_in to_sockaddr(const endpoint& e) noexcept;
endpoint to_endpoint(const sockaddr_in& sa) noexcept;

} // namespace coronet::host
