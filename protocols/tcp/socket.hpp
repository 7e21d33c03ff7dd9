#pragma once
// tcp::socket: the TCP control block (RFC 9293 §3.3.1) and the stream socket behind a handle,
// in one kernel object.
//
// Why one object. A connection outlives its last handle (FIN_WAIT, TIME_WAIT) and a handle
// may outlive its connection (a reset socket still answers read with ECONNRESET). Both hold
// references to the same object: a process through its handle, the TCP layer through
// `self_` for as long as the connection sits in the 4-tuple table. The object goes when both
// have let go, so nothing dangles and nothing is copied from a "socket" into a "TCB".
//
// Where things are. socket.cpp: the system calls. input.cpp: segment arrival (RFC 9293
// §3.10.7). ack.cpp: ACK processing and loss recovery (RFC 5681, 6582, 6675, 3042).
// output.cpp: what to send and the segment builder. timers.cpp: retransmission, delayed
// ACK, persist, keepalive, TIME_WAIT. tail_loss_probe.cpp: the probe (RFC 8985 §7).
// listen.cpp (layer): SYNs to a listener and cookies.
//
// Back-pressure. A segment refused by a full transmit queue, or not built for want of a
// packet buffer, is not lost: SND.NXT stays, the socket joins the layer's list of those
// waiting for room (tx_hook_), and resume_output() sends it when the layer is told there is
// room. Neither cwnd nor the RTO backoff moves.
#include "framework/buffer/packet.hpp"
#include "framework/clock.hpp"
#include "framework/process/socket.hpp"
#include "framework/timer_wheel.hpp"
#include "framework/wait_queue.hpp"
#include "protocols/tcp/accept_queue.hpp"
#include "protocols/tcp/config.hpp"
#include "protocols/tcp/congestion.hpp"
#include "protocols/tcp/lazy_deque.hpp"
#include "protocols/tcp/rack.hpp"
#include "protocols/tcp/reassembly.hpp"
#include "protocols/tcp/receive_buffer.hpp"
#include "protocols/tcp/rtt_estimator.hpp"
#include "protocols/tcp/sack_scoreboard.hpp"
#include "protocols/tcp/send_buffer.hpp"
#include "protocols/tcp/seq.hpp"
#include "protocols/tcp/state.hpp"
#include "protocols/tcp/wire.hpp"

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/unordered_set_hook.hpp>
#include <deque>
#include <memory>
#include <optional>

namespace coronet::tcp {

class layer;

// A received segment, parsed: the header as a value and the payload as the received slices.
struct segment {
    repr header;
    packet payload;
    seq32 seq() const noexcept { return seq32(header.sequence); }
    seq32 ack() const noexcept { return seq32(header.acknowledgment); }
    bool has(flag f) const noexcept { return tcp::has(header.flags, f); }
    // SEG.LEN: data plus one for each of SYN and FIN (RFC 9293 §3.3.1).
    std::uint32_t length() const noexcept {
        return static_cast<std::uint32_t>(payload.length()) + (has(flag::syn) ? 1 : 0) +
               (has(flag::fin) ? 1 : 0);
    }
};

class socket final : public socket_object {
public:
    explicit socket(layer& l);
    ~socket() override;

    // --- socket_object (socket.cpp) ---
    result<> bind(const endpoint& local) override;
    result<> listen(int backlog) override;
    task<result<ref<socket_object>>> accept() override;
    task<result<>> connect(const endpoint& remote) override;
    task<result<std::size_t>> read(std::span<std::byte> buffer) override;
    task<result<std::size_t>> write(std::span<const std::byte> bytes) override;
    task<result<packet>> recv_zc(std::size_t max) override;
    task<result<std::size_t>> send_zc(packet& data) override;
    result<> shutdown(shutdown_how how) override;
    result<endpoint> local_endpoint() const override;
    result<endpoint> peer_endpoint() const override;
    result<> set_option(socket_option opt, std::int64_t value) override;
    result<std::int64_t> get_option(socket_option opt) const override;
    result<tcp_info> connection_info() const override; // info.cpp

    // --- For the layer and tests ---
    tcp::state state() const noexcept { return state_; }
    const endpoint& local() const noexcept { return local_; }
    const endpoint& remote() const noexcept { return remote_; }
    // RFC 9293 §3.10.7: one segment for this connection (checksum verified).
    void input(segment&& seg);
    // An ICMP error about this connection (RFC 9293 §3.9.2.2, RFC 5927): fatal in SYN-SENT,
    // remembered as a soft error otherwise.
    void icmp_error(int err);
    // The stack goes away: drop everything without sending.
    void detach() noexcept;
    // Abortive close (RFC 9293 §3.10.5): RST to the peer if synchronized, then CLOSED.
    void abort(int err);
    // The sequence variables, for tests and the connection table dump.
    seq32 snd_una() const noexcept { return snd_una_; }
    seq32 snd_nxt() const noexcept { return snd_nxt_; }
    seq32 rcv_nxt() const noexcept { return rcv_nxt_; }
    seq32 iss() const noexcept { return iss_; }
    std::uint32_t snd_wnd() const noexcept { return snd_wnd_; }
    std::uint32_t cwnd() const noexcept { return cc_ ? cc_->cwnd() : 0; }
    std::uint32_t ssthresh() const noexcept { return cc_ ? cc_->ssthresh() : 0; }
    std::uint32_t mss() const noexcept { return mss_; }
    std::size_t receive_capacity() const noexcept { return rcv_.capacity(); }
    const rtt_estimator& rtt() const noexcept { return rtt_; }
    const reassembly_queue& reassembly() const noexcept { return ooo_; }
    const sack_scoreboard* sack_board() const noexcept { return sb_.get(); } // null: none yet
    std::size_t accept_queue_size() const noexcept { return accept_queue_.size(); }
    std::size_t syn_queue_size() const noexcept { return syn_queue_; }
    bool sack_enabled() const noexcept { return sack_ok_; }
    bool timestamps_enabled() const noexcept { return ts_ok_; }
    std::uint8_t send_scale() const noexcept { return snd_wscale_; }
    int pending_error() const noexcept { return error_; }
    // Readiness, as poll(2) and FIONREAD/SIOCOUTQ report it: bytes a read would return now,
    // room a write would take, bytes still held for sending, whether the peer's FIN arrived
    // and whether ours is queued.
    std::size_t readable_bytes() const noexcept { return rcv_.size(); }
    std::size_t send_space() const noexcept { return snd_.free_space(); }
    std::size_t send_queued() const noexcept { return snd_.size(); }
    bool peer_closed() const noexcept { return fin_received_; }
    // Bytes written but not yet sent (Linux's tcp_notsent_bytes).
    std::size_t send_unsent() const noexcept {
        return snd_nxt_ < snd_.end() ? distance(snd_nxt_, snd_.end()) : 0;
    }
    // TCP_NOTSENT_LOWAT: whether a write may add bytes (and poll says POLLOUT) as far as it goes.
    bool below_low_water() const noexcept {
        return low_water_ == 0 || send_unsent() < low_water_;
    }
    bool write_closed() const noexcept { return fin_queued_; }
    // The timer ss -o shows (socket_row.hpp), with the time left from `now` (timers.cpp).
    socket_timer pending_timer(time_point now) const noexcept;

protected:
    void on_last_handle_closed() noexcept override;

private:
    friend class layer;
    struct timer : timer_entry {
        explicit timer(socket* s, callback fn) : timer_entry(fn), owner(s) {}
        socket* owner;
    };

    // --- set-up (socket.cpp, layer) ---
    void init_send(seq32 iss, std::uint16_t peer_mss);
    void init_receive(seq32 irs);
    void negotiate(const tcp::options& peer, bool from_syn_ack);
    void set_state(tcp::state s);
    void to_closed(int err);
    void start_close();
    // After the application took bytes out of the receive buffer: a window update if due.
    void consumed();
    // Why a read cannot take bytes now: an error, end of stream (0), or nothing (wait).
    std::optional<result<std::size_t>> read_blocked() const;
    // Why a write cannot add bytes now, or nothing.
    std::optional<int> write_blocked() const;
    // How many bytes a write may add under TCP_NOTSENT_LOWAT (SIZE_MAX without it).
    std::size_t low_water_room() const noexcept;
    // With no room in the send buffer: EAGAIN when non-blocking, else waits for some (0) or
    // fails with the wait's error.
    task<int> wait_for_room();

    // --- input.cpp ---
    void input_syn_sent(segment& seg);
    bool acceptable(const segment& seg) const noexcept;
    bool check_paws(const segment& seg);
    void process_data(segment& seg);
    // Queues in-order payload, making room under memory pressure as Linux's
    // tcp_try_rmem_schedule / tcp_prune_queue do: collapse the receive queue, then renege the
    // out-of-order queue; false when even then it does not fit (dropped, counted).
    bool queue_in_order(packet& p);
    void process_fin();
    void deliver_in_order();
    void update_timestamp(const segment& seg) noexcept;
    // An echoed TSval (TSecr) is one of ours: not later than now, not before ts_first_.
    bool echo_valid(std::uint32_t echo_reply) const noexcept;
    void established_by_ack(const segment& seg);

    // --- ack.cpp ---
    // False when the segment must be dropped.
    bool process_ack(const segment& seg);
    void on_new_ack(const segment& seg, std::uint32_t acked);
    void on_duplicate_ack(const segment& seg);
    void enter_recovery();
    // RFC 6937 Proportional Rate Reduction: what this ACK lets SACK recovery send.
    void prr_on_ack();
    void prr_sent(std::uint32_t len) noexcept; // prr_out += len, out of this ACK's quota
    void sack_recovery_send();
    void update_window(const segment& seg) noexcept;
    std::uint32_t flight_size() const noexcept { return distance(snd_una_, snd_max_); }
    // The SACK scoreboard, made on first use (socket.cpp).
    sack_scoreboard& scoreboard();

    // --- output.cpp ---
    void output();
    // output() with the write's MSG_MORE (`more`): a partial segment waits, as under TCP_CORK;
    // `push`: it goes even when corked (setting TCP_NODELAY, Linux's TCP_NAGLE_PUSH).
    void output(bool more, bool push);
    // Whether a segment of `len` bytes (less than an MSS, not the FIN) may go now: Nagle,
    // sender SWS and the cork.
    bool corked() const noexcept;
    bool partial_allowed(std::uint32_t len, std::uint32_t unsent, std::uint32_t flight) const noexcept;
    // The segment output() would send next from `nxt` (bytes, and whether the FIN goes with
    // them), or none: the window, Nagle, SWS avoidance and the cork decide.
    struct send_step {
        std::uint32_t len = 0;
        bool fin = false;
    };
    std::optional<send_step> next_send(seq32 nxt) const noexcept;
    // Whether the data segment of `len` bytes at SND.NXT carries PSH: `more_follows` if
    // another segment leaves right after it, `after_others` if this pass sent some before.
    bool push_here(std::uint32_t len, bool more_follows, bool after_others) const noexcept;
    // A transmit queue has room again, or buffers are free: what was held back goes out,
    // and a writer waiting for a buffer looks again.
    void resume_output();
    // A segment could not leave: a full queue, or (`no_buffer`) no packet buffer.
    void tx_refused(bool no_buffer);
    // Sends [seq, seq + len) of the send buffer with `flags`; false when no buffer was free.
    bool send_segment(seq32 seq, std::uint32_t len, flag flags);
    void send_ack();
    void send_challenge_ack();
    void send_syn();
    std::uint16_t window_field(bool syn);
    // The window the receive queue may fill: its room, under memory pressure no more than
    // the buffers the budget still lets it take, a segment of mss_ each.
    std::size_t receive_window() const noexcept;
    std::uint32_t max_payload() const noexcept;
    // The payload room of one segment sent now: the MSS less the SACK blocks it will carry.
    std::uint32_t send_mss() const noexcept;
    bool fin_to_send() const noexcept;
    seq32 fin_seq() const noexcept { return snd_.end(); }
    void schedule_ack(bool immediate);
    // In-order data arrived: quick-ack mode at the first data and after an idle gap.
    void note_data_arrival();
    // Quick-ack mode for the next ACKs (Linux's tcp_incr_quickack).
    void add_quick_acks();
    // Puts the header (and checksum, or its offload) on `p` and hands it to IPv4.
    bool transmit(repr& r, packet&& p);
    void enter_time_wait();

    // --- tail_loss_probe.cpp (RFC 8985 §7) ---
    // After an ACK of new data or new data sent: the PTO when a probe may be sent, else
    // the RTO (restarted when `restart_rto`, else left running if armed).
    void arm_rtx_or_probe(bool restart_rto);
    bool probe_allowed() const noexcept;
    duration probe_timeout() const noexcept;
    void probe_timer_expired();
    // What the outstanding probe's ACK says (`prior_una`: SND.UNA before it); true when the
    // probe repaired a loss, whose congestion response the caller then takes.
    bool probe_acked(const segment& seg, seq32 prior_una, std::span<const seq_range> blocks);
    void probe_repaired_loss();
    // RFC 8985 §6.2 for the probe (no full RACK here): when this ACK newly SACKs the probe
    // (`sacked_before`: its first byte was SACKed before this ACK), what lies unSACKed below
    // it and left a reordering window before it is lost; marks it in the scoreboard and
    // returns true.
    bool probe_marks_lost(bool sacked_before);
    void end_probe_episode() noexcept { tlp_high_.reset(); }

    // --- rack_loss.cpp (RFC 8985 §6.2-6.3, rack.hpp) ---
    // What an ACK of `ack` newly acknowledges cumulatively, read before the scoreboard
    // forgets which of those bytes were SACKed: the end of the highest not SACKed before,
    // and whether it filled a hole below the highest SACK never sent again (reordering).
    struct rack_cumulative {
        std::optional<seq32> top;
        bool reordered = false;
    };
    rack_cumulative rack_cumulative_part(seq32 ack) const noexcept;
    // RACK's update from this ACK (before SND.UNA moves), then its loss detection; true when
    // it marked bytes lost.
    bool rack_on_ack(seq32 ack, const rack_cumulative& cum, const sack_scoreboard::ack_result& sacked,
                     std::span<const seq_range> blocks);
    // RACK_detect_loss into the scoreboard, and the reorder timer; true when bytes were newly
    // marked lost.
    bool rack_detect_loss();
    // The segment [r) left now (send_segment): its send time for RACK.
    void rack_sent(seq32 seq, seq32 end);
    void reorder_timeout();

    // --- timers.cpp ---
    void arm_rtx();
    void arm(timer& t, duration d);
    static void on_rtx(timer_entry* t);
    static void on_delack(timer_entry* t);
    static void on_persist(timer_entry* t);
    static void on_keepalive(timer_entry* t);
    static void on_wait(timer_entry* t);
    static void on_reorder(timer_entry* t);
    void rtx_timeout();
    void persist_timeout();
    void keepalive_timeout();
    void arm_keepalive();
    void auto_tune(std::size_t delivered);
    ts32 ts_now() const noexcept;

    layer* layer_;
    tcp::state state_ = tcp::state::closed;
    endpoint local_{};
    endpoint remote_{};
    bool bound_ = false;
    bool autobound_ = false; // bound by connect(): its port may be shared (RFC 6056)
    bool handle_closed_ = false;
    bool non_blocking_ = false;
    bool no_delay_ = false;
    bool keep_alive_ = false;
    bool reuse_address_ = false;
    bool reuse_port_ = false; // kept for get_option only
    bool rcv_locked_ = false; // SO_RCVBUF set: no auto-tuning (Linux's SOCK_RCVBUF_LOCK)
    bool read_shut_ = false;
    bool fin_queued_ = false; // shutdown(write) or close: a FIN follows the data
    bool fin_received_ = false;
    bool in_recovery_ = false;
    bool in_loss_ = false; // after a retransmission timeout, until SND.UNA passes `recover`
    bool probe_armed_ = false;   // rtx_timer_ runs as the probe timer (PTO), not the RTO
    bool tlp_rxt_out_ = false;   // RFC 8985 TLPRxtOut: the outstanding probe retransmitted
    bool tlp_ts_usable_ = false; // its TSval differs from the original's: echoes tell them apart
    bool rtx_refused_ = false;   // a fast retransmission was refused: resend SND.UNA first
    bool write_wants_buffer_ = false; // a write sleeps on writable_ until the pool has one
    bool ack_pending_ = false;
    bool ts_ok_ = false;
    bool sack_ok_ = false;
    bool ws_ok_ = false;
    bool checksum_offload_ = false;     // the NIC on the route fills the checksum
    bool segmentation_offload_ = false; // and cuts segments larger than the MSS
    std::uint8_t snd_wscale_ = 0;
    std::uint8_t rcv_wscale_ = 0;
    std::uint8_t keep_probes_ = 0;
    std::uint8_t dupacks_ = 0;
    std::uint8_t persist_backoff_ = 0;
    std::uint8_t persist_probes_ = 0; // window probes no ACK answered (Linux's icsk_probes_out)
    congestion_algorithm algorithm_;
    int error_ = 0;      // the error that ended the connection, returned by every call
    int soft_error_ = 0; // an ICMP error, reported if the connection then times out
    int linger_ = -1;
    // TCP_MAXSEG (0: none); TCP_CORK; the tail of the send buffer came from a MSG_MORE write
    // (its segment carries no PSH); output() called by such a write, or to push regardless.
    std::uint16_t user_mss_ = 0;
    bool cork_ = false;
    bool more_next_ = false; // socket_option::more: the next write is a MSG_MORE one
    bool tail_more_ = false;
    bool hold_more_ = false;
    bool push_now_ = false;
    std::uint32_t low_water_ = 0; // TCP_NOTSENT_LOWAT, 0 off

    // Send sequence space (RFC 9293 §3.3.1) and the highest sequence number sent.
    seq32 iss_, snd_una_, snd_nxt_, snd_max_, snd_wl1_, snd_wl2_, recover_;
    // RFC 6937 PRR in SACK recovery: RecoverFS, prr_delivered and prr_out (bytes), what the
    // ACK being processed delivered (DeliveredData) and whether it moved SND.UNA, and the
    // bytes it still lets go (a refused segment goes with the resumed output).
    std::uint32_t recover_fs_ = 0;
    std::uint64_t prr_delivered_ = 0;
    std::uint64_t prr_out_ = 0;
    std::uint32_t ack_delivered_ = 0;
    bool ack_una_advanced_ = false;
    std::uint32_t prr_quota_ = 0;
    std::uint32_t snd_wnd_ = 0;
    std::uint32_t max_snd_wnd_ = 0;
    std::uint16_t mss_ = 536; // the MSS we send (RFC 9293 §3.7.1: 536 if unsaid)
    std::uint16_t advertised_mss_ = 536;
    // Receive sequence space; rcv_adv_ is the right edge we advertised (never moved back).
    seq32 irs_, rcv_nxt_, rcv_adv_, last_ack_sent_;
    std::optional<seq32> ooo_fin_; // a FIN received beyond a hole
    std::uint32_t ts_recent_ = 0;
    std::uint32_t unacked_bytes_ = 0; // received in order since the last ACK sent
    // Quick-ack mode: how many more ACKs go at once rather than delayed (Linux's
    // icsk_ack.quick), and when in-order data last arrived (Linux's lrcvtime; the
    // handshake's completion before any data).
    std::uint8_t quick_acks_ = 0;
    bool data_arrived_ = false;
    time_point last_data_at_{};
    std::uint32_t ts_offset_ = 0;
    std::uint32_t ts_first_ = 0;   // our TSval when the connection began: no echo is older
    std::uint32_t high_tx_ts_ = 0; // TSval of the last new data sent

    // Tail loss probe (RFC 8985 §7): TLPHighRxt, SND.NXT when the probe left, while one is
    // outstanding; where the probe began, its TSval, and FlightSize when it left.
    std::optional<seq32> tlp_high_;
    seq32 tlp_seq_;
    std::uint32_t tlp_ts_ = 0;
    std::uint32_t tlp_flight_ = 0;
    // RACK's send order for the probe (RFC 8985 §6.2): when data last left (any segment),
    // when the probe left and when the data before it last did; the minimum RTT seen
    // (RFC 8985 keeps a windowed one; the plain minimum here), for reo_wnd = min_RTT / 4.
    time_point last_sent_at_{};
    time_point tlp_sent_at_{};
    time_point tlp_prior_sent_at_{};
    std::optional<duration> min_rtt_;
    // RFC 5961 §7: challenge ACKs sent in the second that began at challenge_since_.
    time_point challenge_since_{};
    std::uint32_t challenges_ = 0;

    // What TCP_INFO counts over the connection's life (info.cpp), as Linux's tcp_sock does,
    // and the largest payload received (its rcv_mss).
    tcp_counts counts_;
    std::uint32_t largest_received_ = 0;
    void count_input(const segment& seg) noexcept;
    // TCP_INFO's ca_state, and its retrans in bytes: sent again and not yet ACKed nor SACKed.
    tcp_ca_state ca_state() const noexcept;
    std::uint32_t retransmitted_unacked() const noexcept;

    send_buffer snd_;
    receive_buffer rcv_;
    reassembly_queue ooo_;
    std::unique_ptr<congestion_control> cc_;
    std::unique_ptr<sack_scoreboard> sb_;
    std::unique_ptr<rack> rack_; // made at the first data sent on a SACK connection
    rtt_estimator rtt_;
    rtt_sampler sampler_;
    duration user_timeout_{0};
    time_point persist_since_{}; // when the first unanswered window probe left
    duration keep_idle_, keep_interval_;
    unsigned keep_count_;
    time_point last_received_{};
    time_point una_since_{}; // when the oldest unacknowledged byte was (first) sent
    // Auto-tuning (RFC 9293 leaves it to the implementation; Linux's DRS): bytes delivered in
    // the current measurement round, which lasts one smoothed RTT.
    time_point tune_start_{};
    std::size_t tune_bytes_ = 0;
    duration rcv_rtt_{0}; // the receiver's RTT measure, from echoed timestamps

    timer rtx_timer_;
    timer delack_timer_;
    timer persist_timer_;
    timer keepalive_timer_;
    timer wait_timer_; // TIME_WAIT, orphaned FIN_WAIT_2
    timer reorder_timer_; // RACK's (RFC 8985 §6.3)

    wait_queue readable_;
    wait_queue writable_;

    // Listener: half-open children (SYN-RECEIVED) and those ready to accept.
    socket* listener_ = nullptr; // set while a child is half-open or unaccepted
    int backlog_ = 0;
    std::size_t syn_queue_ = 0;
    accept_queue<ref<socket>> accept_queue_; // nothing allocated unless a listener queues
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>
        child_hook_;
    using child_list = boost::intrusive::list<
        socket, boost::intrusive::member_hook<socket, decltype(child_hook_), &socket::child_hook_>,
        boost::intrusive::constant_time_size<false>>;
    std::unique_ptr<child_list> children_;

    // The layer's list of sockets waiting for transmit room or packet buffers.
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>
        tx_hook_;
    using tx_list = boost::intrusive::list<
        socket, boost::intrusive::member_hook<socket, decltype(tx_hook_), &socket::tx_hook_>,
        boost::intrusive::constant_time_size<false>>;

    // The 4-tuple table's hook and the reference it holds.
    boost::intrusive::unordered_set_member_hook<> table_hook_;
    ref<socket> self_;
};

} // namespace coronet::tcp
