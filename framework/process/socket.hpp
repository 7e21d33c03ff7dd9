#pragma once
// The interface a network stack implements to serve socket system calls. coronet has two
// stacks behind it: the native one (its own TCP/IP over a NIC) and the host one (the
// Linux kernel's sockets through io_uring); a process does not know which it talks to.
//
// A socket is a kernel object. The process layer looks up its handle, checks rights and
// holds a counted reference for the length of the call, so an implementation may suspend
// freely: its object stays alive even if the handle is closed meanwhile (that close ends
// the call's waits through on_last_handle_closed, which is where a stack starts closing).
// Every call fails with EOPNOTSUPP unless the socket type implements it.
#include "framework/buffer/packet.hpp"
#include "framework/clock.hpp"
#include "framework/net/address.hpp"
#include "framework/object/object.hpp"
#include "framework/object/ref.hpp"
#include "framework/process/socket_row.hpp"
#include "framework/process/tcp_info.hpp"
#include "framework/result.hpp"
#include "framework/task.hpp"
#include "framework/wall_clock.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace coronet {

enum class socket_type : std::uint8_t { stream, datagram };
enum class shutdown_how : std::uint8_t { read, write, both };

enum class socket_option : std::uint8_t {
    no_delay,           // TCP_NODELAY: 0 or 1
    keep_alive,         // SO_KEEPALIVE: 0 or 1
    keep_idle,          // seconds of idle before the first probe
    keep_interval,      // seconds between probes
    keep_count,         // probes before the connection fails
    send_buffer,        // SO_SNDBUF, bytes
    receive_buffer,     // SO_RCVBUF, bytes
    linger,             // seconds; 0 means close sends RST; -1 means off
    user_timeout,       // TCP_USER_TIMEOUT, milliseconds
    congestion_control, // 0 NewReno, 1 CUBIC
    reuse_address,      // SO_REUSEADDR: 0 or 1
    // SO_REUSEPORT: 0 or 1, set before bind. On the host stack, listeners on one port (one
    // per shard) share its connections, spread by the kernel; on the native stack, where
    // each shard has its own stack and port space, it is kept and changes nothing.
    reuse_port,
    non_blocking,       // 1: calls that would wait fail with EAGAIN instead
    max_segment,        // TCP_MAXSEG: bytes, 0 for the path's; caps the MSS of the next handshake
    cork,               // TCP_CORK: 0 or 1; a partial segment waits (at most an RTO); 0 sends it
    more,               // MSG_MORE for the next write only: its partial tail waits, as corked
    not_sent_low_water, // TCP_NOTSENT_LOWAT: bytes, 0 off; writable only while fewer are unsent
    // SO_RCVTIMEO / SO_SNDTIMEO: milliseconds, 0 none (the process layer serves them, for
    // every stack alike: see socket_timeouts.hpp).
    receive_timeout,
    send_timeout,
};

struct listen_options {
    int backlog = 128;
    bool reuse_address = true;
    bool reuse_port = false; // socket_option::reuse_port before bind
};

struct datagram_info {
    std::size_t size = 0; // bytes received (the datagram may have been longer: truncated)
    endpoint from;
    bool truncated = false;
};

class socket_object : public typed_object<object_type::socket> {
public:
    virtual result<> bind(const endpoint&) { return error{EOPNOTSUPP}; }
    virtual result<> listen(int /*backlog*/) { return error{EOPNOTSUPP}; }
    virtual task<result<ref<socket_object>>> accept() { co_return error{EOPNOTSUPP}; }
    virtual task<result<>> connect(const endpoint&) { co_return error{EOPNOTSUPP}; }
    // Copies received bytes into the caller's span; 0 means the peer closed its side.
    // Stream errors, for read and write alike: ECONNRESET once the peer reset the
    // connection, including a peer that closed first and then answered our later data
    // with RST (Linux says EPIPE to that write; coronet keeps ECONNRESET); ETIMEDOUT when
    // data stayed unacknowledged past the user timeout or the retransmission limit.
    virtual task<result<std::size_t>> read(std::span<std::byte>) { co_return error{EOPNOTSUPP}; }
    // Copies bytes into the send buffer, waiting while it is full; may take fewer bytes.
    // After the peer's FIN writes still succeed (half-close); EPIPE after our own
    // shutdown(write).
    virtual task<result<std::size_t>> write(std::span<const std::byte>) { co_return error{EOPNOTSUPP}; }
    // Zero copy (stream sockets). recv_zc lends up to `max` received bytes as a packet whose
    // slices are the stack's own receive buffers: nothing is copied, and the buffers return
    // to their pool when the caller drops the packet. An empty packet means the peer closed
    // its side; the errors are read's.
    virtual task<result<packet>> recv_zc(std::size_t /*max*/) { co_return error{EOPNOTSUPP}; }
    // send_zc moves the leading bytes of `data` into the send buffer without copying (the
    // packet's buffers are shared until the peer acknowledges them), waiting for room as
    // write does; returns how many it took, and `data` keeps the bytes not taken (none on
    // success). The caller must not write into those buffers while they are shared.
    virtual task<result<std::size_t>> send_zc(packet& /*data*/) { co_return error{EOPNOTSUPP}; }
    virtual task<result<std::size_t>> send_to(std::span<const std::byte>, const endpoint&) {
        co_return error{EOPNOTSUPP};
    }
    virtual task<result<datagram_info>> recv_from(std::span<std::byte>) { co_return error{EOPNOTSUPP}; }
    virtual result<> shutdown(shutdown_how) { return error{EOPNOTSUPP}; }
    virtual result<endpoint> local_endpoint() const { return error{EOPNOTSUPP}; }
    virtual result<endpoint> peer_endpoint() const { return error{ENOTCONN}; }
    virtual result<> set_option(socket_option, std::int64_t) { return error{ENOPROTOOPT}; }
    virtual result<std::int64_t> get_option(socket_option) const { return error{ENOPROTOOPT}; }
    // TCP_INFO of a stream socket (tcp_info.hpp).
    virtual result<tcp_info> connection_info() const { return error{EOPNOTSUPP}; }

    // socket_option::receive_timeout and send_timeout, kept here because the process layer
    // enforces them around the stack's calls (zero: none).
    struct io_timeouts {
        duration receive{0};
        duration send{0};
    };
    io_timeouts timeouts;
    // True when the socket bounds its calls by `timeouts` itself, with the same outcomes
    // (socket_timeouts.hpp), and the process layer leaves them alone: the host stack has the
    // kernel time its operations.
    virtual bool serves_timeouts() const noexcept { return false; }

protected:
    socket_object() = default;
};

class network_stack {
public:
    virtual ~network_stack() = default;
    virtual std::string_view name() const noexcept = 0;
    // A new, unbound socket: EAFNOSUPPORT/EPROTONOSUPPORT for a type it lacks, ENOBUFS
    // when out of memory for sockets.
    virtual result<ref<socket_object>> socket(socket_type type) = 0;
    // The time of day its processes read (process::wall_time(), wall_clock.hpp): the system's,
    // unless the stack was given another (a simulated host's, which a test may step).
    virtual const wall_clock& wall() const noexcept { return system_wall_clock::instance(); }

    // Its sockets as ss lists them, without owners (socket_table.hpp adds those): TCP
    // listeners by port, TCP connections, then bound UDP sockets by port. EOPNOTSUPP for a
    // stack that cannot list them.
    virtual result<std::vector<socket_row>> socket_rows() const { return error{EOPNOTSUPP}; }
};

} // namespace coronet
