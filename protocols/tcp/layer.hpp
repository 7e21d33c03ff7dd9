#pragma once
// The TCP layer of one stack: the connection table, listeners, ports, segment input and the
// replies sent without a connection (RST, SYN cookies).
//
// Lookup. Connections are found by 4-tuple in an intrusive hash table (Boost.Intrusive,
// power-of-two buckets, doubled when the load passes 1): one hash and a short chain, no
// allocation per connection besides the bucket array. Listeners and bound sockets are found
// by local port in a small map, an exact local address beating the wildcard.
#include "framework/buffer/packet.hpp"
#include "framework/object/ref.hpp"
#include "framework/process/socket.hpp"
#include "framework/scheduler.hpp"
#include "framework/wake_relay.hpp"
#include "protocols/tcp/config.hpp"
#include "protocols/tcp/counters.hpp"
#include "protocols/tcp/flow_owner.hpp"
#include "protocols/tcp/isn.hpp"
#include "protocols/tcp/network.hpp"
#include "protocols/tcp/siphash.hpp"
#include "protocols/tcp/socket.hpp"
#include "protocols/tcp/syn_cookie.hpp"

#include <array>
#include <boost/intrusive/unordered_set.hpp>
#include <functional>
#include <optional>
#include <random>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace coronet::tcp {

struct four_tuple {
    endpoint local;
    endpoint remote;
};

class layer {
public:
    layer(network& net, scheduler& sched, counters& stats, config cfg);
    ~layer(); // detaches every connection still open
    layer(const layer&) = delete;
    layer& operator=(const layer&) = delete;

    result<ref<socket_object>> open();

    // A received segment (TCP header first, IP header pulled) from `source` to `destination`;
    // `checksum_valid` when the NIC verified it.
    void input(packet&& p, ipv4_address source, ipv4_address destination, bool checksum_valid);
    // An ICMP error quoting a segment sent from `local` to `remote` with sequence `seq`.
    void report_error(const endpoint& local, const endpoint& remote, std::uint32_t seq, int err);

    socket* find(const endpoint& local, const endpoint& remote) const noexcept;
    socket* find_listener(const endpoint& local) const noexcept;
    std::size_t connection_count() const noexcept { return table_.size(); }
    // The longest chain of the connection table (O(table), for tests and inspection): what
    // finding a connection costs at worst.
    std::size_t longest_chain() const noexcept;
    // One line per connection, like ss: "ESTABLISHED 10.0.0.1:80 10.0.0.2:49152".
    std::string connection_table() const;
    // The listening sockets, by port, and the connections in table order (socket_rows.hpp
    // turns them into rows).
    std::vector<const socket*> listeners() const;
    std::vector<const socket*> connections() const;

    void set_trace(std::function<void(std::string_view)> sink) { trace_ = std::move(sink); }
    bool tracing() const noexcept { return static_cast<bool>(trace_); }
    void trace(std::string_view direction, const repr& h, ipv4_address from, ipv4_address to,
               std::string_view what);

    network& net() noexcept { return net_; }
    scheduler& sched() noexcept { return sched_; }
    time_point now() const noexcept { return sched_.now(); }
    counters& stats() noexcept { return stats_; }
    const config& cfg() const noexcept { return cfg_; }
    const isn_generator& isns() const noexcept { return isn_; }

    // --- For the sockets ---
    result<> bind(socket& s, endpoint local);
    void unbind(socket& s) noexcept;
    // Picks an ephemeral port for a connection from `local` to `remote` (RFC 6056 §3.3.4:
    // unique for the 4-tuple, shared with other connections to other peers) and binds `s` to
    // it; EADDRNOTAVAIL when every port is in use towards that peer.
    result<> bind_ephemeral(socket& s, ipv4_address local, const endpoint& remote);
    // On a host of several shards, bind_ephemeral() takes only ports whose connection this
    // shard owns (flow_owner.hpp), so the peer's answers, steered to the queue this shard
    // sent on, need no forwarding. Count 1 (the default): every port is ours.
    void set_owner(const flow_owner& owner) noexcept { owner_ = owner; }
    const flow_owner& owner() const noexcept { return owner_; }
    void insert(socket& s);
    void erase(socket& s) noexcept;
    // A RST answering `seg` (RFC 9293 §3.10.7.1), sent from `local` to `remote`.
    void send_reset(const segment& seg, const endpoint& local, const endpoint& remote);

    // RFC 5961 §7: whether one more challenge ACK may leave this second under the host-wide
    // limit (config::host_challenge_ack_limit); socket::send_challenge_ack says why both.
    bool host_challenge_ack_allowed();

    // --- Transmit back-pressure (network.hpp: send_segment's ENOBUFS and ENOMEM) ---
    // The network's transmit queues have room again: every socket that was refused sends.
    void transmit_room();
    // `s` waits for transmit room, or with `no_buffer` for a packet buffer to be freed.
    void tx_wait(socket& s, bool no_buffer);
    // Sockets waiting for room or buffers.
    std::size_t tx_waiting() const noexcept { return tx_waiting_.size(); }

private:
    // SipHash of the 4-tuple, keyed from the seed: the remote address and port are the peer's
    // to choose (spoofed SYNs put half-open children in the table), and with an unkeyed mix
    // it could pick tuples that all land in one bucket, every segment then walking the chain.
    struct tuple_hash {
        siphash_key secret;
        std::size_t operator()(const socket& s) const noexcept { return hash(s.local_, s.remote_); }
        std::size_t operator()(const four_tuple& t) const noexcept { return hash(t.local, t.remote); }
        std::size_t hash(const endpoint& l, const endpoint& r) const noexcept;
    };
    struct tuple_equal {
        bool operator()(const socket& a, const socket& b) const noexcept {
            return a.local_ == b.local_ && a.remote_ == b.remote_;
        }
        bool operator()(const four_tuple& t, const socket& s) const noexcept {
            return t.local == s.local_ && t.remote == s.remote_;
        }
        bool operator()(const socket& s, const four_tuple& t) const noexcept { return (*this)(t, s); }
    };
    using table = boost::intrusive::unordered_set<
        socket,
        boost::intrusive::member_hook<socket, boost::intrusive::unordered_set_member_hook<>,
                                      &socket::table_hook_>,
        boost::intrusive::hash<tuple_hash>, boost::intrusive::equal<tuple_equal>,
        boost::intrusive::power_2_buckets<true>>;

    // True when a connect() from `local` to `remote` may use port p.
    bool shareable_port(std::uint16_t p, ipv4_address local, const endpoint& remote) const noexcept;

    // listen.cpp: a segment for a listener (no connection matched). `isn`: the ISS of a
    // connection that reuses a TIME-WAIT (beyond the old one's sequence space).
    void listen_input(socket& listener, segment&& seg, const four_tuple& t,
                      std::optional<seq32> isn = std::nullopt);
    void syn_to_listener(socket& listener, segment&& seg, const four_tuple& t,
                         std::optional<seq32> isn);
    // A new child of `listener` for `t`, with the listener's socket options.
    ref<socket> make_child(const socket& listener, const four_tuple& t);
    void cookie_ack(socket& listener, segment&& seg, const four_tuple& t);
    void send_syn_cookie(const segment& seg, const four_tuple& t);

    network& net_;
    scheduler& sched_;
    counters& stats_;
    config cfg_;
    isn_generator isn_;
    syn_cookies cookies_;
    std::vector<table::bucket_type> buckets_;
    table table_;
    std::unordered_map<std::uint16_t, std::vector<socket*>> ports_; // bound sockets by port
    std::mt19937_64 rng_;
    // RFC 6056 Algorithm 4: the key of F and G and the table of per-destination counters.
    siphash_key port_key_;
    flow_owner owner_;
    std::array<std::uint32_t, 4096> port_counters_{};
    std::function<void(std::string_view)> trace_;
    // The host-wide challenge ACKs: the second's start, those sent in it, its random budget.
    time_point challenge_since_{};
    std::uint32_t challenges_ = 0;
    std::uint32_t challenge_budget_ = 0;
    socket::tx_list tx_waiting_;
    // Armed while a socket waits for a packet buffer: the pool's buffers_freed() resumes them.
    wake_relay buffers_relay_;
    static void on_buffers_freed(void* self) { static_cast<layer*>(self)->transmit_room(); }
};

} // namespace coronet::tcp
