#pragma once
// A UDP socket (RFC 768) as a kernel object behind a handle: bind, connect, send_to and
// recv_from (read and write once connected), a bounded receive queue, options.
//
// Why it is built this way. A received datagram is queued as the packet it came in (header
// pulled, fragments chained): no copy until recv_from copies into the caller's span, which
// is the one copy POSIX promises. The queue is bounded in payload bytes (SO_RCVBUF, 212992
// by default like Linux; unlike Linux, the value set is the value used, not doubled). A
// datagram is accepted while the queue is below the bound, so one datagram larger than the
// bound still fits an empty queue; others are dropped and counted (rcvbuf_errors).
// Errors that arrive asynchronously (ICMP port unreachable on a connected socket, an ARP
// failure for a datagram it sent) wait in the socket and are returned once, by the next
// call, as Linux's sk_err is: send first, receive once its queue is empty.
#include "framework/buffer/memory_budget.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/net/address.hpp"
#include "framework/process/socket.hpp"
#include "framework/wait_queue.hpp"

#include <boost/intrusive/list.hpp>
#include <deque>

namespace coronet::udp {

class layer;

class socket final : public socket_object,
                     public boost::intrusive::list_base_hook<
                         boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    explicit socket(layer& l) noexcept;
    ~socket() override;

    result<> bind(const endpoint& local) override;
    task<result<>> connect(const endpoint& remote) override;
    task<result<std::size_t>> read(std::span<std::byte> buffer) override;
    task<result<std::size_t>> write(std::span<const std::byte> bytes) override;
    task<result<std::size_t>> send_to(std::span<const std::byte> bytes,
                                      const endpoint& to) override;
    task<result<datagram_info>> recv_from(std::span<std::byte> buffer) override;
    result<endpoint> local_endpoint() const override;
    result<endpoint> peer_endpoint() const override;
    result<> set_option(socket_option opt, std::int64_t value) override;
    result<std::int64_t> get_option(socket_option opt) const override;

    // --- For the UDP layer. ---
    const endpoint& local() const noexcept { return local_; }
    bool bound() const noexcept { return bound_; }
    bool connected() const noexcept { return connected_; }
    const endpoint& peer() const noexcept { return peer_; }
    // Queues a datagram's payload; false (the caller counts it) when the queue is full.
    bool enqueue(packet&& payload, const endpoint& from);
    // An asynchronous error for the next call; wakes a waiting reader.
    void set_error(int err) noexcept;
    // The stack is going away: drop everything, fail every call with ENETDOWN from now on.
    void detach() noexcept;
    std::size_t queued_bytes() const noexcept { return queued_bytes_; }
    std::size_t queued_datagrams() const noexcept { return queue_.size(); }
    std::uint32_t queued_buffers() const noexcept { return charge_.held(); }
    // Datagrams refused by a full queue (the socket's share of udp.rcvbuf_errors), as
    // Linux's sk_drops.
    std::uint64_t drops() const noexcept { return drops_; }
    // Drops the oldest queued datagram (a benchmark's drain).
    void discard_front() noexcept;

    // Synchronous forms of send and receive (what the coroutines above call).
    result<std::size_t> send(std::span<const std::byte> bytes, const endpoint& to);
    // EAGAIN when nothing is queued and no error is pending.
    result<datagram_info> try_receive(std::span<std::byte> buffer);

protected:
    void on_last_handle_closed() noexcept override;

private:
    friend class layer;
    struct datagram {
        packet payload;
        endpoint from;
        std::uint32_t buffers; // what it pins: at least one, however short
    };
    void dequeued(const datagram& d) noexcept;
    task<result<datagram_info>> receive(std::span<std::byte> buffer);
    int take_error() noexcept { return std::exchange(pending_error_, 0); }

    layer* layer_;
    endpoint local_{};
    endpoint peer_{};
    bool bound_ = false;
    bool connected_ = false;
    bool closed_ = false;
    bool non_blocking_ = false;
    bool reuse_port_ = false; // kept for get_option only
    int pending_error_ = 0;
    std::size_t receive_buffer_;
    std::size_t queued_bytes_ = 0;
    std::uint64_t drops_ = 0;
    // Charged in the buffers the queue pins, against receive_buffer_ as Linux charges an
    // skb's truesize against sk_rcvbuf (a zero-length datagram is not free), and against
    // the host's budget.
    memory_charge charge_;
    std::deque<datagram> queue_;
    wait_queue readable_;
};

} // namespace coronet::udp
