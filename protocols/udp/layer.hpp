#pragma once
// The UDP layer of one stack: the port table, input (checksum, demultiplexing, queueing),
// the sockets it made, and errors reported from below.
//
// Demultiplexing is O(1): a hash table keyed by local port holds the few sockets bound to
// that port (at most one per local address, and one on the wildcard address); among them
// an exact local address beats the wildcard, and a connected socket takes only datagrams
// from its peer.
#include "framework/buffer/packet.hpp"
#include "framework/object/ref.hpp"
#include "framework/process/socket.hpp"
#include "protocols/udp/counters.hpp"
#include "protocols/udp/network.hpp"
#include "protocols/udp/port_table.hpp"
#include "protocols/udp/socket.hpp"

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <random>
#include <vector>

namespace coronet::udp {

struct options {
    std::size_t receive_buffer = 212992; // bytes of payload, as Linux's rmem_default
    // The IANA dynamic range (RFC 6335 §6); the first port tried is random (RFC 6056 §3.3.1).
    std::uint16_t ephemeral_first = 49152;
    std::uint16_t ephemeral_last = 65535;
    std::uint64_t seed = 1;
};

enum class input_result : std::uint8_t { delivered, no_port, dropped };

class layer {
public:
    layer(network& net, counters& stats, options opts);
    ~layer(); // detaches the sockets still open
    layer(const layer&) = delete;
    layer& operator=(const layer&) = delete;

    result<ref<socket_object>> open();

    // A received datagram (UDP header first, IP header pulled) from `source` to
    // `destination`. `checksum_valid`: the NIC verified it. Taken (moved to a socket's
    // queue) when delivered; otherwise left to the caller, trimmed to the UDP length.
    // no_port: nobody listens (the caller answers with ICMP port unreachable); drops are
    // counted here.
    input_result input(packet& datagram, ipv4_address source, ipv4_address destination,
                       bool checksum_valid);

    // An error about a datagram sent from `local` to `remote`. `connected_only`: ICMP
    // errors reach only a socket connected to `remote` (as Linux without IP_RECVERR);
    // otherwise (a failed ARP resolution) any socket bound on `local` hears it.
    void report_error(const endpoint& local, const endpoint& remote, int err, bool connected_only);

    // --- For the sockets. ---
    result<> bind(socket& s, endpoint local);
    void unbind(socket& s) noexcept;
    socket* lookup(const endpoint& local, const endpoint& remote) const noexcept;
    network& net() noexcept { return net_; }
    counters& stats() noexcept { return stats_; }
    const options& opts() const noexcept { return opts_; }
    std::size_t bound_ports() const noexcept { return ports_.size(); }
    // The bound sockets whose handle is open, by local port (the socket table's UDP rows).
    std::vector<const socket*> bound_sockets() const;

private:
    friend class socket;
    using socket_list = boost::intrusive::list<socket, boost::intrusive::constant_time_size<false>>;

    network& net_;
    counters& stats_;
    options opts_;
    port_table ports_;
    socket_list sockets_; // every socket made, for detaching them
    std::mt19937_64 rng_;
};

} // namespace coronet::udp
