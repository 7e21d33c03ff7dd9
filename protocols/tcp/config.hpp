#pragma once
// The knobs of a stack's TCP, with Linux's defaults unless said otherwise.
#include "framework/clock.hpp"
#include "protocols/tcp/rtt_estimator.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace coronet::tcp {

enum class congestion_algorithm : std::uint8_t { newreno = 0, cubic = 1 };

struct config {
    // TIME_WAIT lasts 2*MSL (RFC 9293 §3.4.2); Linux's TIME_WAIT is 60 s, i.e. MSL 30 s.
    duration msl = std::chrono::seconds(30);
    // An orphaned FIN_WAIT_2 (closed by the application, the peer silent) ends after this.
    duration fin_timeout = std::chrono::seconds(60);
    // RFC 9293 §3.8.6.3: an ACK is delayed at most this long (and at most 2 full segments).
    duration delayed_ack = std::chrono::milliseconds(40);
    // Quick-ack mode (Linux's): at a connection's first data, after an idle gap longer than
    // the RTO and after a duplicate segment, up to this many ACKs go at once (half the
    // receive window in segments, at least 2); Linux's TCP_MAX_QUICKACKS. 0: none, every ACK
    // delayed as above.
    unsigned quick_acks = 16;
    rtt_options rtt{};
    std::size_t send_buffer = 1 << 20;
    std::size_t receive_buffer = 128 << 10;    // the initial receive window
    std::size_t max_receive_buffer = 6 << 20;  // auto-tuning's ceiling (Linux tcp_rmem[2])
    bool auto_tune = true;
    bool window_scaling = true; // RFC 7323 §2
    bool timestamps = true;     // RFC 7323 §3
    bool sack = true;           // RFC 2018
    // RFC 8985 §7: a tail loss probe one PTO (2*SRTT) after the last ACK or new data, so
    // that a lost tail is repaired without waiting for the RTO. As Linux, only on
    // connections that negotiated SACK (the probe's ACK is read through its SACK blocks).
    bool tail_loss_probe = true;
    // RFC 8985 §6.2 for the probe's SACK alone: the unSACKed data below a delivered probe,
    // sent a reordering window (min_RTT / 4) before it, is lost and SACK recovery (RFC 6675)
    // starts at once, so a tail loss of two or more segments needs no RTO. Not full RACK:
    // no per-segment send times, no reordering timer.
    bool tail_loss_rack = true;
    // RFC 8985 §6.2 RACK loss detection beside RFC 6675's IsLost (rack.hpp): a segment is
    // lost once one sent after it was delivered and a reordering window (min_RTT / 4, grown
    // by DSACKs; none in recovery until reordering is seen) has passed, with a reorder timer
    // for those still inside it. Finds retransmissions lost again, and every hole below the
    // highest SACK of data sent before it, where IsLost sees DupThresh SACKs above one hole.
    bool rack = true;
    // RFC 5961 §7: challenge ACKs a connection sends per second at most (0: no limit).
    // Linux limits per socket too (tcp_invalid_ratelimit); see socket::send_challenge_ack.
    unsigned challenge_ack_limit = 1000;
    // The same across the whole layer (Linux's tcp_challenge_ack_limit), randomised each
    // second as Linux does since CVE-2016-5696; 0 (the default, as Linux since 6.0): none.
    unsigned host_challenge_ack_limit = 0;
    congestion_algorithm congestion = congestion_algorithm::cubic;
    unsigned syn_retries = 6;    // SYN retransmissions before ETIMEDOUT
    unsigned synack_retries = 5; // SYN-ACK retransmissions before a half-open is reclaimed
    unsigned retries = 15;       // data retransmissions before ETIMEDOUT (tcp_retries2)
    // Unanswered window probes before ETIMEDOUT once the application closed the connection
    // (Linux's tcp_orphan_retries, whose 0 means 8); `retries` while a handle is open.
    unsigned orphan_retries = 8;
    duration keep_idle = std::chrono::seconds(7200);
    duration keep_interval = std::chrono::seconds(75);
    unsigned keep_count = 9;
    // SYN queue per listener: min(backlog, this); beyond it, SYN cookies (RFC 4987 §3.6).
    int max_syn_backlog = 1024;
    bool syn_cookies = true;
    bool segmentation_offload = true; // used when the NIC offers it
    std::uint16_t ephemeral_first = 49152; // RFC 6335 §6
    std::uint16_t ephemeral_last = 65535;
    std::uint64_t seed = 1; // ISN key, cookie keys, ephemeral ports
};

} // namespace coronet::tcp
