#pragma once
// tcp_info: what process::tcp_info(h) says about one TCP connection, the fields of Linux's
// struct tcp_info (include/uapi/linux/tcp.h) that coronet knows, under Linux's names less
// the tcpi_ prefix. The native stack fills it from the TCB, the host stack from
// getsockopt(TCP_INFO) itself; a field a stack does not know stays 0, and 0 says "unknown"
// or "none" wherever Linux would say ~0 (min_rtt before a sample, pacing_rate unlimited).
// Times are microseconds (last_data_recv milliseconds, as Linux's); snd_cwnd, snd_ssthresh,
// unacked, sacked, lost, retrans and reordering are segments, as Linux counts them (the
// native stack counts bytes and divides by the MSS, rounding up).
#include <cstdint>

namespace coronet {

// A connection's state, numbered as Linux's (include/net/tcp_states.h), so that the host
// stack's value passes as it is.
enum class tcp_state : std::uint8_t {
    established = 1,
    syn_sent,
    syn_received,
    fin_wait_1,
    fin_wait_2,
    time_wait,
    closed,
    close_wait,
    last_ack,
    listen,
    closing,
};

// Where the sender's congestion control stands, numbered as Linux's tcpi_ca_state
// (include/net/tcp.h, enum tcp_ca_state). The native stack never says cwr: it reduces its
// window only on loss (it has no ECN, and a full transmit queue is back-pressure).
enum class tcp_ca_state : std::uint8_t {
    open = 0,     // no loss suspected
    disorder = 1, // duplicate ACKs or SACKs seen, no recovery yet
    cwr = 2,      // the window reduced for an ECN echo or local congestion
    recovery = 3, // fast recovery (RFC 5681 / RFC 6582 / RFC 6675)
    loss = 4,     // after a retransmission timeout, until what was outstanding is ACKed
};

// What a connection counts over its life: payload bytes acknowledged and received in
// order, segments each way (those with data apart), segments retransmitted. Linux counts
// sequence space in the two byte counts: an active opener's bytes_acked has 1 more for its
// SYN, and a FIN adds 1 to both; the native stack counts payload only (its TCB keeps one).
struct tcp_counts {
    std::uint64_t bytes_acked = 0;
    std::uint64_t bytes_received = 0;
    std::uint32_t segs_in = 0;
    std::uint32_t segs_out = 0;
    std::uint32_t data_segs_in = 0;
    std::uint32_t data_segs_out = 0;
    std::uint32_t total_retrans = 0;
};

struct tcp_info : tcp_counts {
    tcp_state state = tcp_state::closed;
    tcp_ca_state ca_state = tcp_ca_state::open;
    std::uint8_t retransmits = 0; // retransmission timeouts in a row, without progress
    std::uint8_t probes = 0;      // window (or keepalive) probes unanswered in a row
    std::uint8_t backoff = 0;     // how many times the running timer (RTO, persist) doubled
    bool sack = false;            // options agreed at the handshake (tcpi_options)
    bool timestamps = false;
    bool window_scale = false;
    std::uint8_t snd_wscale = 0;
    std::uint8_t rcv_wscale = 0;
    std::uint32_t rto = 0;
    std::uint32_t rtt = 0; // smoothed (RFC 6298 SRTT), 0 before a sample
    std::uint32_t rttvar = 0;
    std::uint32_t min_rtt = 0;
    std::uint32_t rcv_rtt = 0; // the receiver's estimate, 0 if none
    std::uint32_t snd_mss = 0;
    std::uint32_t rcv_mss = 0; // the largest segment received, as far as it is known
    std::uint32_t advmss = 0;  // the MSS we announced
    std::uint32_t snd_cwnd = 0;
    std::uint32_t snd_ssthresh = 0;
    std::uint32_t unacked = 0; // in flight
    std::uint32_t sacked = 0;
    std::uint32_t lost = 0;
    std::uint32_t retrans = 0; // retransmitted and not yet acknowledged (nor SACKed)
    // The reordering the sender allows for, in segments: the duplicate-ACK threshold, or the
    // largest reordering seen (a segment never retransmitted SACKed that far below the
    // highest SACK), as Linux's tcpi_reordering.
    std::uint32_t reordering = 0;
    std::uint64_t delivery_rate = 0; // bytes per second, 0 unknown
    std::uint64_t pacing_rate = 0;   // bytes per second, 0 when nothing paces the sender
    std::uint32_t notsent_bytes = 0; // written, not yet sent
    std::uint32_t rcv_space = 0;     // the receive buffer's room as auto-tuning sees it
    std::uint32_t rcv_wnd = 0;       // the window last advertised, from RCV.NXT
    std::uint32_t snd_wnd = 0;       // the peer's window
    // Milliseconds since data last arrived in order (since the handshake before any), as
    // Linux's tcpi_last_data_recv.
    std::uint32_t last_data_recv = 0;
};

} // namespace coronet
