// TCP_INFO on the host stack: Linux's own struct tcp_info, from getsockopt, in coronet's
// tcp_info. <linux/tcp.h> has the whole struct (glibc's <netinet/tcp.h> stops early) and
// cannot share a file with <netinet/tcp.h>: hence this file of its own.
#include "drivers/host/host_socket.hpp"

#include <cerrno>
#include <cstdint>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace coronet::host {

namespace {

// Linux says ~0 for "none" (min_rtt before a sample, pacing_rate unlimited); tcp_info says 0.
template <class T>
T none_as_zero(T v) noexcept {
    return v == static_cast<T>(~T{0}) ? T{0} : v;
}

} // namespace

result<tcp_info> host_socket::connection_info() const {
    if (type_ != socket_type::stream) return error{EOPNOTSUPP};
    ::tcp_info k{};
    socklen_t len = sizeof k; // an older kernel fills less: the rest stays 0
    if (::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &k, &len) < 0) return error{errno};
    tcp_info i;
    i.state = static_cast<tcp_state>(k.tcpi_state);
    i.ca_state = static_cast<tcp_ca_state>(k.tcpi_ca_state); // numbered as Linux's
    i.retransmits = k.tcpi_retransmits;
    i.probes = k.tcpi_probes;
    i.backoff = k.tcpi_backoff;
    i.sack = (k.tcpi_options & TCPI_OPT_SACK) != 0;
    i.timestamps = (k.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0;
    i.window_scale = (k.tcpi_options & TCPI_OPT_WSCALE) != 0;
    i.snd_wscale = k.tcpi_snd_wscale;
    i.rcv_wscale = k.tcpi_rcv_wscale;
    i.rto = k.tcpi_rto;
    i.rtt = k.tcpi_rtt;
    i.rttvar = k.tcpi_rttvar;
    i.min_rtt = none_as_zero(k.tcpi_min_rtt);
    i.rcv_rtt = k.tcpi_rcv_rtt;
    i.snd_mss = k.tcpi_snd_mss;
    i.rcv_mss = k.tcpi_rcv_mss;
    i.advmss = k.tcpi_advmss;
    i.snd_cwnd = k.tcpi_snd_cwnd;
    i.snd_ssthresh = k.tcpi_snd_ssthresh;
    i.unacked = k.tcpi_unacked;
    i.sacked = k.tcpi_sacked;
    i.lost = k.tcpi_lost;
    i.retrans = k.tcpi_retrans;
    i.reordering = k.tcpi_reordering;
    i.total_retrans = k.tcpi_total_retrans;
    i.bytes_acked = k.tcpi_bytes_acked;
    i.bytes_received = k.tcpi_bytes_received;
    i.segs_in = k.tcpi_segs_in;
    i.segs_out = k.tcpi_segs_out;
    i.data_segs_in = k.tcpi_data_segs_in;
    i.data_segs_out = k.tcpi_data_segs_out;
    i.delivery_rate = k.tcpi_delivery_rate;
    i.pacing_rate = none_as_zero(k.tcpi_pacing_rate);
    i.notsent_bytes = k.tcpi_notsent_bytes;
    i.rcv_space = k.tcpi_rcv_space;
    i.snd_wnd = k.tcpi_snd_wnd;
    i.last_data_recv = k.tcpi_last_data_recv;
    // rcv_wnd stays 0: these headers' struct has no tcpi_rcv_wnd (Linux 6.x adds it).
    return i;
}

} // namespace coronet::host
