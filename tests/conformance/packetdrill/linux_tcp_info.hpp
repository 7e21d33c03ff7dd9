#pragma once
// Linux's struct tcp_info as today's kernels return it (include/uapi/linux/tcp.h, through
// the accurate-ECN fields of 6.18), our own declaration: glibc's <netinet/tcp.h> stops at
// tcpi_total_retrans, and packetdrill's `%{ }%` blocks take the whole structure (280 bytes)
// or refuse it. Filled from coronet's tcp_info; a field coronet does not know stays 0.
#include "framework/process/tcp_info.hpp"

#include <cstdint>

namespace coronet::packetdrill {

struct linux_tcp_info {
    std::uint8_t state, ca_state, retransmits, probes, backoff, options;
    std::uint8_t snd_wscale : 4, rcv_wscale : 4;
    std::uint8_t delivery_rate_app_limited : 1, fastopen_client_fail : 2;
    std::uint32_t rto, ato, snd_mss, rcv_mss;
    std::uint32_t unacked, sacked, lost, retrans, fackets;
    std::uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
    std::uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
    std::uint32_t rcv_rtt, rcv_space;
    std::uint32_t total_retrans;
    std::uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
    std::uint32_t segs_out, segs_in;
    std::uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
    std::uint64_t delivery_rate;
    std::uint64_t busy_time, rwnd_limited, sndbuf_limited;
    std::uint32_t delivered, delivered_ce;
    std::uint64_t bytes_sent, bytes_retrans;
    std::uint32_t dsack_dups, reord_seen;
    std::uint32_t rcv_ooopack;
    std::uint32_t snd_wnd, rcv_wnd;
    std::uint32_t rehash;
    std::uint16_t total_rto, total_rto_recoveries;
    std::uint32_t total_rto_time;
    std::uint32_t received_ce, delivered_e1_bytes, delivered_e0_bytes, delivered_ce_bytes;
    std::uint32_t received_e1_bytes, received_e0_bytes, received_ce_bytes;
    std::uint32_t ecn_mode : 2, accecn_opt_seen : 2, accecn_fail_mode : 4, options2 : 24;
};
static_assert(sizeof(linux_tcp_info) == 280);

// Linux's TCPI_OPT_* bits of tcpi_options.
inline constexpr std::uint8_t tcpi_opt_timestamps = 1, tcpi_opt_sack = 2, tcpi_opt_wscale = 4;

inline linux_tcp_info to_linux(const coronet::tcp_info& c) {
    linux_tcp_info i{};
    i.state = static_cast<std::uint8_t>(c.state); // numbered as Linux's
    i.ca_state = static_cast<std::uint8_t>(c.ca_state); // numbered as Linux's
    i.retransmits = c.retransmits;
    i.probes = c.probes;
    i.backoff = c.backoff;
    if (c.sack) i.options |= tcpi_opt_sack;
    if (c.timestamps) i.options |= tcpi_opt_timestamps;
    if (c.window_scale) {
        i.options |= tcpi_opt_wscale;
        i.snd_wscale = c.snd_wscale & 0xf;
        i.rcv_wscale = c.rcv_wscale & 0xf;
    }
    i.rto = c.rto;
    i.snd_mss = c.snd_mss;
    i.rcv_mss = c.rcv_mss;
    i.unacked = c.unacked;
    i.sacked = c.sacked;
    i.lost = c.lost;
    i.retrans = c.retrans;
    i.reordering = c.reordering;
    i.rtt = c.rtt;
    i.rttvar = c.rttvar;
    i.snd_ssthresh = c.snd_ssthresh;
    i.snd_cwnd = c.snd_cwnd;
    i.advmss = c.advmss;
    i.rcv_rtt = c.rcv_rtt;
    i.rcv_space = c.rcv_space;
    i.total_retrans = c.total_retrans;
    i.pacing_rate = c.pacing_rate;
    i.bytes_acked = c.bytes_acked;
    i.bytes_received = c.bytes_received;
    i.segs_out = c.segs_out;
    i.segs_in = c.segs_in;
    i.notsent_bytes = c.notsent_bytes;
    i.min_rtt = c.min_rtt;
    i.data_segs_in = c.data_segs_in;
    i.data_segs_out = c.data_segs_out;
    i.delivery_rate = c.delivery_rate;
    i.snd_wnd = c.snd_wnd;
    i.rcv_wnd = c.rcv_wnd;
    i.last_data_recv = c.last_data_recv;
    return i;
}

} // namespace coronet::packetdrill
