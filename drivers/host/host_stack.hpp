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
#include <vector>

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
    // A stream send (one sendmsg of write or send_zc) of at least this many bytes goes as a
    // zero-copy send (IORING_OP_SEND_ZC / SENDMSG_ZC): the kernel transmits from the
    // caller's pages and says when it let go of them, which the call waits for. 0: never.
    // Off by default: every peer a test or bench reaches here (loopback, a veth into a
    // netns) is on this host, where the kernel copies the lent pages anyway, and no size
    // won consistently (bench/README.md, "send_zc threshold"). Measure, then set it, for a
    // peer behind a real NIC.
    std::size_t zero_copy_threshold = 0;
    // Slots of the ring's registered (fixed) file table (IORING_REGISTER_FILES, sparse), 0
    // for none. Each socket's descriptor is installed in a slot, and every io_uring
    // operation of the socket names the slot (IOSQE_FIXED_FILE), which spares the kernel a
    // file lookup and reference per operation; the descriptor stays for the plain system
    // calls (bind, setsockopt, getsockname...). A socket that finds the table full, or a
    // ring that refuses one (a second stack on the same reactor), uses the descriptor alone
    // (counted in host_stats::unregistered). Off by default although every host test passes
    // with it on: it costs two more system calls per socket (install, empty), which a
    // server of short connections pays on each, and it takes the ring's one table; the
    // lookup it saves did not show against that noise (bench/README.md, "send_zc
    // threshold"). 4,096 is a reasonable table for a server of long connections.
    std::uint32_t registered_files = 0;
    // A socket's receive and send timeouts (socket_timeouts.hpp) timed by the kernel: each
    // io_uring operation of a bounded call is linked to an IORING_OP_LINK_TIMEOUT of the
    // time left, and the kernel cancels it when that passes, with no timer of coronet's and no
    // cancel to submit (host_socket.hpp). false, or a kernel without link timeouts: the
    // process layer bounds the calls as on the native stack (with_timeout: a timer of the
    // scheduler's that cancels the operation), kept for comparison (bench_host).
    bool linked_timeouts = true;
};

// What the stack's sends and timeouts did (host_stack::stats()).
struct host_stats {
    std::uint64_t sends = 0;            // sendmsg operations of write and send_zc (more
                                        // than the calls when sends came back short)
    std::uint64_t zero_copy_sends = 0;  // sends whose notification has come back
    std::uint64_t zero_copy_copied = 0; // of them, the ones the kernel copied after all
    std::uint64_t registered = 0;       // sockets installed in the fixed file table
    std::uint64_t unregistered = 0;     // sockets that found it full, or none (when asked for)
    std::uint64_t linked_timeouts = 0;  // operations submitted with a linked timeout
    std::uint64_t linked_timeouts_expired = 0; // of them, the ones it ended with nothing done
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
    const host_stats& stats() const noexcept { return stats_; }

private:
    friend class host_socket;
    uring::uring_reactor& reactor_;
    host_options opts_;
    unsigned lingering_ = 0; // sockets holding themselves for the kernel
    boost::intrusive::list<socket_link, boost::intrusive::constant_time_size<false>> sockets_;
    std::unique_ptr<receive_buffers> lending_;
    host_stats stats_;
    bool zero_copy_supported_;
    bool linked_timeouts_; // asked for, and the kernel has IORING_OP_LINK_TIMEOUT
    bool files_registered_ = false; // the ring took a table of opts_.registered_files slots
    std::vector<std::uint32_t> free_slots_;

    // A slot of the fixed file table holding `fd` (the table takes its own reference), or
    // -1 when there is none to be had; give it back with release_slot.
    int take_slot(int fd) noexcept;
    void release_slot(int slot) noexcept;

    // Whether a send of `bytes` goes as a zero-copy send.
    bool zero_copy(std::size_t bytes) const noexcept {
        return zero_copy_supported_ && opts_.zero_copy_threshold > 0 && bytes >= opts_.zero_copy_threshold;
    }
    void count_send() noexcept { ++stats_.sends; }
    void count_linked_timeout() noexcept { ++stats_.linked_timeouts; }
    void count_expired() noexcept { ++stats_.linked_timeouts_expired; }
    void count_zero_copy(bool copied) noexcept {
        ++stats_.zero_copy_sends;
        if (copied) ++stats_.zero_copy_copied;
    }
};

sockaddr_in to_sockaddr(const endpoint& e) noexcept;
endpoint to_endpoint(const sockaddr_in& sa) noexcept;

} // namespace coronet::host
