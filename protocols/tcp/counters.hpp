#pragma once
// TCP counters of one stack, named as in /proc/net/snmp's Tcp line and /proc/net/netstat's
// TcpExt, read as "tcp.<name>", plus the payload bytes the socket calls copy (the POSIX
// copies of read and write, counted where they happen), and the transmit back-pressure:
//   tx_blocked            segments a full transmit queue refused (the NIC's, a shaper's, the
//                         loopback's); not a loss: the connection waits for room, no cwnd cut
//   tx_blocked_no_buffer  times output stopped for want of a packet buffer; it waits for one
//   tx_resumed            connections whose output ran again when room or buffers came back
//   write_buffer_waits    writes that slept because the pool was empty (Linux's
//                         sk_stream_wait_memory) instead of failing with ENOBUFS
// Tail loss probes (RFC 8985 §7) and challenge-ACK rate limiting (RFC 5961 §7):
//   tlp_probes                 probes sent when a PTO expired (new data or the last segment
//                              again; Linux's TCPLossProbes)
//   tlp_recoveries             probes that repaired a loss: cwnd was reduced once, as a
//                              fast recovery would (Linux's TCPLossProbeRecovery)
//   tlp_rack_losses            probe SACKs that marked the unSACKed data below the probe
//                              lost (RFC 8985 §6.2) and so started SACK recovery
// RACK loss detection (RFC 8985 §6.2, rack.hpp):
//   rack_losses                ACKs or reorder timeouts on which RACK marked bytes lost
//   rack_relost                retransmissions RACK found lost again (sent once more)
//   rack_reorder_timeouts      reorder timers that expired (RFC 8985 §6.3)
//   challenge_acks_suppressed  challenge ACKs not sent, over the per-connection or the
//                              host-wide limit (Linux's TCPChallengeACK is the sent ones)
// The receive side under memory pressure (memory_budget.hpp), in Linux's order of
// tcp_try_rmem_schedule / tcp_prune_queue:
//   ofo_dropped_memory   out-of-order segments dropped: the budget refused the queue more
//                        buffers (Linux's TCPOFODrop); also counted in ofo_dropped
//   rcv_collapsed        receive queues copied into fewer, full buffers to take in-order data
//                        (Linux's TCPRcvCollapsed counts the buffers, this the collapses)
//   rcv_collapsed_bytes  the bytes those collapses copied
//   ofo_reneged          out-of-order queues cleared to make room for in-order data (RFC 2018
//                        §8; Linux's OfoPruned)
//   rcv_dropped_memory   in-order segments dropped even so (not acknowledged: the peer
//                        retransmits; Linux's TCPRcvQDrop)
// The SACK scoreboard's work (sack_scoreboard.hpp), bounded whatever a receiver reports:
//   sack_scoreboard_steps          runs visited or moved, binary-search probes
//   sack_scoreboard_ack_steps_max  a high-water mark: the most steps one ACK cost
//   sack_runs_forgotten            SACKed runs forgotten over the per-connection cap
#include "framework/counters.hpp"

namespace coronet::tcp {

struct counters {
    explicit counters(counter_registry& r) : group(r, "tcp") {}
    counter_group group;
    counter& active_opens = group.declare("active_opens");
    counter& passive_opens = group.declare("passive_opens");
    counter& attempt_fails = group.declare("attempt_fails");
    counter& estab_resets = group.declare("estab_resets");
    // New data after close() or shutdown(SHUT_RD) in FIN-WAIT: reset (Linux's TCPAbortOnData).
    counter& abort_on_data = group.declare("abort_on_data");
    counter& curr_estab = group.declare("curr_estab", counter_kind::gauge);
    counter& in_segs = group.declare("in_segs");
    counter& out_segs = group.declare("out_segs");
    counter& retrans_segs = group.declare("retrans_segs");
    counter& in_errs = group.declare("in_errs");
    counter& in_csum_errors = group.declare("in_csum_errors");
    counter& bad_data_offset = group.declare("bad_data_offset"); // below 5 words or past the end
    counter& bad_options = group.declare("bad_options"); // a length 0, 1, wrong or past the header
    counter& out_rsts = group.declare("out_rsts");
    counter& syncookies_sent = group.declare("syncookies_sent");
    counter& syncookies_recv = group.declare("syncookies_recv");
    counter& syncookies_failed = group.declare("syncookies_failed");
    counter& challenge_acks = group.declare("challenge_acks");
    counter& challenge_acks_suppressed = group.declare("challenge_acks_suppressed");
    counter& listen_overflows = group.declare("listen_overflows");
    counter& listen_drops = group.declare("listen_drops");
    // Connections waiting in all accept queues (a gauge), and SYNs answered with a cookie
    // because the host's memory budget was at its hard limit (listen.cpp).
    counter& accept_queue_connections =
        group.declare("accept_queue_connections", counter_kind::gauge);
    counter& listen_memory_cookies = group.declare("listen_memory_cookies");
    counter& paws_rejected = group.declare("paws_rejected");
    counter& ts_echo_invalid = group.declare("ts_echo_invalid");   // TSecr not one we sent
    counter& peer_mss_clamped = group.declare("peer_mss_clamped"); // a SYN's MSS below 48
    counter& peer_wscale_clamped = group.declare("peer_wscale_clamped"); // a SYN's shift above 14
    counter& out_of_window = group.declare("out_of_window");
    // ICMP errors ignored: quoting no connection of ours, or a sequence number not in flight
    // (Linux's OutOfWindowIcmps).
    counter& icmp_unmatched = group.declare("icmp_unmatched");
    counter& out_of_window_icmps = group.declare("out_of_window_icmps");
    counter& ofo_queued = group.declare("ofo_queued");
    counter& ofo_dropped = group.declare("ofo_dropped");
    counter& ofo_dropped_memory = group.declare("ofo_dropped_memory");
    counter& rcv_collapsed = group.declare("rcv_collapsed");
    counter& rcv_collapsed_bytes = group.declare("rcv_collapsed_bytes");
    counter& ofo_reneged = group.declare("ofo_reneged");
    counter& rcv_dropped_memory = group.declare("rcv_dropped_memory");
    counter& fast_retransmits = group.declare("fast_retransmits");
    counter& recoveries = group.declare("recoveries");
    counter& tlp_probes = group.declare("tlp_probes");
    counter& tlp_recoveries = group.declare("tlp_recoveries");
    counter& tlp_rack_losses = group.declare("tlp_rack_losses");
    counter& rack_losses = group.declare("rack_losses");
    counter& rack_relost = group.declare("rack_relost");
    counter& rack_reorder_timeouts = group.declare("rack_reorder_timeouts");
    counter& sack_recoveries = group.declare("sack_recoveries");
    counter& sack_blocks_invalid = group.declare("sack_blocks_invalid"); // ignored (ack.cpp)
    counter& sack_scoreboard_steps = group.declare("sack_scoreboard_steps");
    counter& sack_scoreboard_ack_steps_max = group.declare("sack_scoreboard_ack_steps_max");
    counter& sack_runs_forgotten = group.declare("sack_runs_forgotten");
    counter& timeouts = group.declare("timeouts");
    counter& delayed_acks = group.declare("delayed_acks");
    counter& window_probes = group.declare("window_probes");
    counter& persist_timeouts = group.declare("persist_timeouts"); // probes unanswered: ended
    counter& keepalive_probes = group.declare("keepalive_probes");
    counter& timewait_reused = group.declare("timewait_reused");
    counter& half_open_reclaimed = group.declare("half_open_reclaimed");
    counter& no_buffers = group.declare("no_buffers");
    counter& tx_blocked = group.declare("tx_blocked");
    counter& tx_blocked_no_buffer = group.declare("tx_blocked_no_buffer");
    counter& tx_resumed = group.declare("tx_resumed");
    counter& write_buffer_waits = group.declare("write_buffer_waits");
    counter& bytes_copied_in = group.declare("bytes_copied_in");   // write
    counter& bytes_copied_out = group.declare("bytes_copied_out"); // read
    // send_zc bytes a segment carried as a copy because their pool had no descriptor left
    // (send_buffer.hpp, "Descriptors")
    counter& send_zc_copied = group.declare("send_zc_copied");
};

} // namespace coronet::tcp
