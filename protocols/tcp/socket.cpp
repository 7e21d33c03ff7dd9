// The stream socket's system calls and the connection's life from set-up to CLOSED.
#include "protocols/tcp/cubic.hpp"
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/mss.hpp"
#include "protocols/tcp/newreno.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>

namespace coronet::tcp {

namespace {
// RFC 7323 §2.3: the shift that lets a window of `max_bytes` fit the 16-bit field, at most 14.
std::uint8_t scale_for(std::size_t max_bytes) noexcept {
    std::uint8_t s = 0;
    while (s < max_window_scale && (max_bytes >> s) > 65535) ++s;
    return s;
}
} // namespace

socket::socket(layer& l)
    : layer_(&l), algorithm_(l.cfg().congestion),
      snd_(l.net().pool(), l.cfg().send_buffer, seq32{}, l.net().memory()),
      rcv_(l.cfg().receive_buffer, l.net().memory()),
      ooo_(l.cfg().receive_buffer, l.net().memory()), rtt_(l.cfg().rtt),
      keep_idle_(l.cfg().keep_idle), keep_interval_(l.cfg().keep_interval),
      keep_count_(l.cfg().keep_count), rtx_timer_(this, &on_rtx), delack_timer_(this, &on_delack),
      persist_timer_(this, &on_persist), keepalive_timer_(this, &on_keepalive),
      wait_timer_(this, &on_wait), reorder_timer_(this, &on_reorder) {}

socket::~socket() {
    if (layer_ != nullptr) layer_->unbind(*this);
}

// --- set-up ---

void socket::init_send(seq32 iss, std::uint16_t peer_mss) {
    iss_ = snd_una_ = snd_nxt_ = snd_max_ = recover_ = iss;
    snd_ = send_buffer(layer_->net().pool(), snd_.capacity(), iss + 1, layer_->net().memory());
    std::uint32_t mtu = 1500;
    if (auto p = layer_->net().route(remote_.address)) {
        mtu = p->mtu;
        checksum_offload_ = p->checksum_offload;
        segmentation_offload_ =
            p->checksum_offload && p->segmentation_offload && layer_->cfg().segmentation_offload;
    }
    advertised_mss_ = mss_for_mtu(mtu);
    if (user_mss_ != 0) advertised_mss_ = std::min(advertised_mss_, user_mss_); // TCP_MAXSEG
    mss_ = tcp::peer_mss(peer_mss, advertised_mss_).value;
    rcv_wscale_ = layer_->cfg().window_scaling ? scale_for(layer_->cfg().max_receive_buffer) : 0;
    ts_offset_ = static_cast<std::uint32_t>(iss.raw() * 2654435761u);
    ts_first_ = ts_now().raw();
}

void socket::init_receive(seq32 irs) {
    irs_ = irs;
    rcv_nxt_ = rcv_adv_ = last_ack_sent_ = irs + 1;
}

void socket::negotiate(const tcp::options& peer, bool active) {
    const config& c = layer_->cfg();
    const auto m = tcp::peer_mss(peer.mss, advertised_mss_);
    if (m.clamped) ++layer_->stats().peer_mss_clamped;
    mss_ = m.value;
    // RFC 7323 §2.2: scaling only when both SYNs carry the option.
    // A larger shift would make a 16-bit window above 2^30 (RFC 7323 §2.3), and one of 32 or
    // more is undefined behaviour in the shifts of update_window().
    ws_ok_ = c.window_scaling && peer.window_scale.has_value();
    if (ws_ok_ && *peer.window_scale > max_window_scale) ++layer_->stats().peer_wscale_clamped;
    snd_wscale_ = ws_ok_ ? std::min(*peer.window_scale, max_window_scale) : 0;
    if (!ws_ok_) rcv_wscale_ = 0;
    ts_ok_ = c.timestamps && peer.timestamps.has_value();
    if (ts_ok_) ts_recent_ = peer.timestamps->value;
    sack_ok_ = c.sack && peer.sack_permitted;
    (void)active;
    // RFC 7323 §3.2: the timestamp option takes 12 bytes of every segment's room (RFC 6691:
    // the MSS counts data only, so options come out of it); mss_ stays >= 36.
    if (ts_ok_) mss_ = static_cast<std::uint16_t>(mss_ - 12);
    if (algorithm_ == congestion_algorithm::cubic)
        cc_ = std::make_unique<cubic>(mss_);
    else
        cc_ = std::make_unique<newreno>(mss_);
    // The SACK scoreboard is made by scoreboard() when the first SACK block or loss comes.
}

sack_scoreboard& socket::scoreboard() {
    // Made at the first use, with SND.UNA as it is then: an idle connection never pays for it,
    // and none of its state differs from a scoreboard kept since the handshake (with no block
    // received, it held only SND.UNA and HighRxt <= SND.UNA).
    if (!sb_) {
        auto& c = layer_->stats();
        sb_ = std::make_unique<sack_scoreboard>(
            mss_, snd_una_, sack_scoreboard::default_dup_thresh, sack_scoreboard::default_max_runs,
            sack_scoreboard::work_counters{&c.sack_scoreboard_steps,
                                           &c.sack_scoreboard_ack_steps_max,
                                           &c.sack_runs_forgotten});
        sb_->set_rack_watches(sack_ok_ && layer_->cfg().rack);
    }
    return *sb_;
}

void socket::set_state(tcp::state s) {
    auto counted = [](tcp::state x) { return x == state::established || x == state::close_wait; };
    if (layer_ != nullptr) {
        if (counted(s) && !counted(state_)) ++layer_->stats().curr_estab;
        if (!counted(s) && counted(state_)) --layer_->stats().curr_estab.value;
        // The handshake counts as the last arrival until data comes (Linux's lrcvtime, set
        // in tcp_finish_connect and for the accepted child), for tcp_info's last_data_recv.
        if (synchronized(s) && !synchronized(state_)) last_data_at_ = layer_->now();
    }
    state_ = s;
}

void socket::to_closed(int err) {
    if (err != 0) error_ = err;
    set_state(state::closed);
    rtx_timer_.cancel();
    delack_timer_.cancel();
    persist_timer_.cancel();
    keepalive_timer_.cancel();
    wait_timer_.cancel();
    reorder_timer_.cancel();
    ooo_.clear();
    if (err != 0) // a reset discards unread data
        rcv_ =
            receive_buffer(rcv_.capacity(), layer_ != nullptr ? layer_->net().memory() : nullptr);
    if (layer_ != nullptr)
        snd_ = send_buffer(layer_->net().pool(), snd_.capacity(), snd_una_, layer_->net().memory());
    if (child_hook_.is_linked()) {
        child_hook_.unlink();
        --listener_->syn_queue_;
    }
    listener_ = nullptr;
    tx_hook_.unlink();
    readable_.wake_all();
    writable_.wake_all();
    if (layer_ != nullptr) {
        if (handle_closed_) layer_->unbind(*this);
        layer_->erase(*this);
    }
    self_.reset(); // last: may destroy this
}

void socket::abort(int err) {
    if (layer_ != nullptr && (synchronized(state_) || state_ == state::syn_received) &&
        state_ != state::time_wait) {
        // RFC 9293 §3.10.4 ABORT: "<SEQ=SND.NXT><CTL=RST>", with SND.NXT the highest sent:
        // after a timeout rewound ours to SND.UNA, the peer's RCV.NXT may be beyond it and a
        // RST there would lie left of its window and be ignored (as pure ACKs, output.cpp).
        if (state_ == state::established || state_ == state::close_wait) ++layer_->stats().estab_resets;
        ++layer_->stats().out_rsts;
        send_segment(snd_max_, 0, flag::rst | flag::ack);
    }
    to_closed(err);
}

void socket::detach() noexcept {
    rtx_timer_.cancel();
    delack_timer_.cancel();
    persist_timer_.cancel();
    keepalive_timer_.cancel();
    wait_timer_.cancel();
    reorder_timer_.cancel();
    if (child_hook_.is_linked()) child_hook_.unlink();
    tx_hook_.unlink();
    listener_ = nullptr;
    accept_queue_.clear();
    accept_queue_.count_in(nullptr); // the layer, and its counters, may go before this socket
    if (children_) {
        while (!children_->empty()) children_->front().detach();
    }
    if (layer_ != nullptr) {
        layer_->unbind(*this);
        layer_->erase(*this);
    }
    if (state_ != state::closed) error_ = ENETDOWN;
    state_ = state::closed;
    // The budget goes with the stack: nothing stays charged to it.
    if (layer_ != nullptr) {
        snd_ = send_buffer(layer_->net().pool(), snd_.capacity(), snd_una_);
        rcv_ = receive_buffer(rcv_.capacity());
        ooo_ = reassembly_queue(ooo_.max_bytes());
    }
    layer_ = nullptr;
    readable_.wake_all();
    writable_.wake_all();
    self_.reset(); // last
}

void socket::start_close() {
    switch (state_) {
    case state::syn_sent:
        to_closed(0);
        return;
    case state::syn_received:
    case state::established:
        fin_queued_ = true;
        set_state(state::fin_wait_1);
        break;
    case state::close_wait:
        fin_queued_ = true;
        set_state(state::last_ack);
        break;
    default:
        return;
    }
    output();
}

void socket::on_last_handle_closed() noexcept {
    handle_closed_ = true;
    ref<socket> keep(this);
    readable_.fail_all(EBADF);
    writable_.fail_all(EBADF);
    if (layer_ == nullptr) return;
    if (state_ == state::listen) {
        while (!accept_queue_.empty()) {
            ref<socket> c = accept_queue_.pop_front();
            c->handle_closed_ = true;
            c->abort(0);
        }
        while (children_ && !children_->empty()) children_->front().abort(0);
        layer_->unbind(*this);
        state_ = state::closed;
        return;
    }
    if (state_ == state::closed) {
        layer_->unbind(*this);
        return;
    }
    // RFC 2525 §2.17 and Linux: closing with unread data, or SO_LINGER 0, resets.
    if (linger_ == 0 || !rcv_.empty()) return abort(0);
    start_close();
    if (state_ == state::fin_wait_2) arm(wait_timer_, layer_->cfg().fin_timeout);
}

// --- system calls ---

result<> socket::bind(const endpoint& local) {
    if (layer_ == nullptr) return error{ENETDOWN};
    if (bound_ || state_ != state::closed) return error{EINVAL};
    return layer_->bind(*this, local);
}

result<> socket::listen(int backlog) {
    if (layer_ == nullptr) return error{ENETDOWN};
    if (state_ != state::closed && state_ != state::listen) return error{EISCONN};
    if (!bound_) {
        if (auto r = layer_->bind(*this, {ipv4_any, 0}); !r) return r;
    }
    if (state_ == state::closed) {
        // Another listener on the same address and port.
        if (socket* l = layer_->find_listener(local_); l != nullptr && l != this &&
                                                       l->local_.address == local_.address)
            return error{EADDRINUSE};
    }
    backlog_ = std::max(backlog, 1);
    if (!children_) children_ = std::make_unique<child_list>();
    accept_queue_.count_in(&layer_->stats().accept_queue_connections);
    state_ = state::listen;
    return {};
}

task<result<ref<socket_object>>> socket::accept() {
    for (;;) {
        if (layer_ == nullptr) co_return error{ENETDOWN};
        if (state_ != state::listen) co_return error{EINVAL};
        if (!accept_queue_.empty()) {
            ref<socket> c = accept_queue_.pop_front();
            c->listener_ = nullptr;
            co_return ref<socket_object>(std::move(c));
        }
        if (non_blocking_) co_return error{EAGAIN};
        if (auto w = co_await readable_.wait(); !w) co_return error{w.error()};
    }
}

task<result<>> socket::connect(const endpoint& remote) {
    if (layer_ == nullptr) co_return error{ENETDOWN};
    if (state_ == state::listen) co_return error{EINVAL};
    if (state_ == state::syn_sent || state_ == state::syn_received) co_return error{EALREADY};
    if (state_ != state::closed) co_return error{EISCONN};
    if (error_ != 0) co_return error{error_};
    if (remote.port.value() == 0 || remote.address.is_any()) co_return error{EINVAL};
    auto path = layer_->net().route(remote.address);
    if (!path) co_return error{path.error()};
    if (!bound_) {
        if (auto r = layer_->bind_ephemeral(*this, path->source, remote); !r) co_return r;
    }
    if (local_.address.is_any()) local_.address = path->source;
    if (layer_->find(local_, remote) != nullptr) co_return error{EADDRNOTAVAIL};
    remote_ = remote;
    init_send(layer_->isns().next(local_, remote_, layer_->now()), default_peer_mss);
    set_state(state::syn_sent);
    layer_->insert(*this);
    ++layer_->stats().active_opens;
    send_syn();
    arm_rtx();
    if (non_blocking_) co_return error{EINPROGRESS};
    while (state_ == state::syn_sent || state_ == state::syn_received) {
        if (auto w = co_await writable_.wait(); !w) co_return error{w.error()};
    }
    if (state_ == state::closed || error_ != 0) co_return error{error_ != 0 ? error_ : ECONNREFUSED};
    co_return result<>{};
}

void socket::consumed() {
    // When a read opens the window, a pure ACK announces it (receiver-side SWS avoidance).
    // RFC 9293 §3.8.6.2.2 sets the minimum: the window grew by min(RCV.BUFF / 2, MSS). Above
    // it, as Linux's tcp_cleanup_rbuf: only when the sender is short of window, the window
    // now advertised below one segment (zero included: reopened at once, never a stall), or
    // when the new window at least doubles it. Otherwise the sender still has most of a
    // window to send into, and the ACKs of that data carry the new edge: no pure ACK per
    // read. None once the peer's FIN is in (it sends no more), and none the window field
    // could not carry (65535 << scale: the update would say what the last one said).
    if (!synchronized(state_) || fin_received_) return;
    const std::size_t field_max = std::size_t{65535} << rcv_wscale_;
    const std::size_t wnd_new = std::min(receive_window(), field_max);
    const std::size_t wnd_now = rcv_adv_ > rcv_nxt_ ? distance(rcv_nxt_, rcv_adv_) : 0;
    if (wnd_new <= wnd_now || wnd_new - wnd_now < std::min<std::size_t>(rcv_.capacity() / 2, mss_))
        return;
    if (wnd_now < mss_ || wnd_new >= 2 * wnd_now) send_ack();
}

std::optional<result<std::size_t>> socket::read_blocked() const {
    if (layer_ == nullptr) return error{error_ != 0 ? error_ : ENETDOWN};
    if (error_ != 0) return error{error_};
    if (fin_received_ || read_shut_) return std::size_t{0};
    if (state_ == state::closed || state_ == state::listen) return error{ENOTCONN};
    return std::nullopt;
}

task<result<std::size_t>> socket::read(std::span<std::byte> buffer) {
    for (;;) {
        if (layer_ != nullptr && !rcv_.empty()) {
            const std::size_t n = rcv_.read(buffer, layer_->stats().bytes_copied_out);
            consumed();
            co_return n;
        }
        if (auto b = read_blocked()) co_return *b;
        if (buffer.empty()) co_return std::size_t{0};
        if (non_blocking_) co_return error{EAGAIN};
        if (auto w = co_await readable_.wait(); !w) co_return error{w.error()};
    }
}

task<result<packet>> socket::recv_zc(std::size_t max) {
    if (max == 0) co_return error{EINVAL}; // an empty packet would read as end of stream
    for (;;) {
        if (layer_ != nullptr && !rcv_.empty()) {
            auto p = rcv_.read_zc(max); // the received slices themselves: no copy
            if (!p) co_return error{p.error()};
            consumed();
            co_return std::move(*p);
        }
        if (auto b = read_blocked()) {
            if (!*b) co_return error{b->error()};
            co_return packet{}; // end of stream
        }
        if (non_blocking_) co_return error{EAGAIN};
        if (auto w = co_await readable_.wait(); !w) co_return error{w.error()};
    }
}

std::optional<int> socket::write_blocked() const {
    if (layer_ == nullptr) return error_ != 0 ? error_ : ENETDOWN;
    if (error_ != 0) return error_;
    if (fin_queued_) return EPIPE;
    if (state_ == state::closed || state_ == state::listen) return ENOTCONN;
    return std::nullopt;
}

namespace {
// What a write-like call returns on `err` after taking `total` bytes: the count, if any.
result<std::size_t> taken_or(std::size_t total, int err) {
    return total > 0 ? result<std::size_t>(total) : error{err};
}
} // namespace

task<int> socket::wait_for_room() {
    if (non_blocking_) co_return EAGAIN;
    auto w = co_await writable_.wait();
    co_return w ? 0 : w.error();
}

std::size_t socket::low_water_room() const noexcept {
    // TCP_NOTSENT_LOWAT: up to the mark, in whole segments (Linux checks it per skb).
    if (low_water_ == 0) return SIZE_MAX;
    const std::size_t m = std::max<std::uint32_t>(send_mss(), 1);
    const std::size_t below = low_water_ - send_unsent(); // below_low_water() held
    return (below + m - 1) / m * m;
}

task<result<std::size_t>> socket::write(std::span<const std::byte> bytes) {
    const bool more = std::exchange(more_next_, false); // MSG_MORE: this write's only
    std::size_t total = 0;
    while (total < bytes.size() || bytes.empty()) {
        if (auto e = write_blocked()) co_return *e == ENOTCONN || layer_ == nullptr ? error{*e} : taken_or(total, *e);
        if (bytes.empty()) co_return std::size_t{0};
        if (can_send(state_) && below_low_water()) {
            auto chunk = bytes.subspan(total);
            chunk = chunk.first(std::min(chunk.size(), low_water_room()));
            auto n = snd_.write(chunk, layer_->stats().bytes_copied_in);
            if (!n && n.error() == ENOBUFS && total == 0) {
                // The pool is empty: sleep until a buffer is freed (Linux's
                // sk_stream_wait_memory), or EAGAIN when non-blocking. Bytes already taken
                // are returned instead, as Linux does.
                if (non_blocking_) co_return error{EAGAIN};
                ++layer_->stats().write_buffer_waits;
                write_wants_buffer_ = true;
                layer_->tx_wait(*this, true);
                auto w = co_await writable_.wait();
                write_wants_buffer_ = false;
                if (!w) co_return error{w.error()};
                continue;
            }
            if (!n) co_return taken_or(total, n.error());
            if (*n > 0) {
                total += *n;
                tail_more_ = more;
                output(more, false);
                continue;
            }
        }
        if (const int err = co_await wait_for_room(); err != 0) co_return taken_or(total, err);
    }
    co_return total;
}

task<result<std::size_t>> socket::send_zc(packet& data) {
    std::size_t total = 0;
    while (!data.empty() || total == 0) {
        if (auto e = write_blocked()) co_return *e == ENOTCONN || layer_ == nullptr ? error{*e} : taken_or(total, *e);
        if (data.empty()) co_return std::size_t{0};
        const std::size_t room = snd_.free_space();
        if (can_send(state_) && room > 0 && below_low_water() && snd_.may_take(data.slice_count())) {
            // The whole packet when it fits, else its first `room` bytes (a split shares
            // the buffer cut in two: still no copy).
            packet part;
            if (data.length() <= room) {
                part = std::move(data);
                data.reset();
            } else {
                auto rest = data.split(room);
                if (!rest) co_return taken_or(total, rest.error());
                part = std::move(data);
                data = std::move(*rest);
            }
            const std::size_t n = part.length();
            (void)snd_.send_zc(std::move(part)); // fits: cannot fail
            total += n;
            tail_more_ = false;
            output();
            continue;
        }
        if (const int err = co_await wait_for_room(); err != 0) co_return taken_or(total, err);
    }
    co_return total;
}

result<> socket::shutdown(shutdown_how how) {
    if (layer_ == nullptr) return error{ENETDOWN};
    if (!synchronized(state_) && state_ != state::syn_received && state_ != state::syn_sent)
        return error{ENOTCONN};
    if (how != shutdown_how::write) {
        read_shut_ = true;
        readable_.wake_all();
    }
    if (how != shutdown_how::read) {
        ref<socket> keep(this);
        start_close();
        writable_.wake_all();
    }
    return {};
}

result<endpoint> socket::local_endpoint() const {
    if (layer_ == nullptr) return error{ENETDOWN};
    return local_;
}

result<endpoint> socket::peer_endpoint() const {
    if (state_ == state::closed || state_ == state::listen || state_ == state::syn_sent)
        return error{ENOTCONN};
    return remote_;
}

result<> socket::set_option(socket_option opt, std::int64_t v) {
    using namespace std::chrono;
    switch (opt) {
    case socket_option::no_delay:
        no_delay_ = v != 0;
        // Linux's TCP_NAGLE_PUSH: what waits goes now, corked or not.
        if (no_delay_ && synchronized(state_)) output(false, true);
        return {};
    case socket_option::keep_alive:
        keep_alive_ = v != 0;
        if (synchronized(state_)) {
            if (keep_alive_)
                arm_keepalive();
            else
                keepalive_timer_.cancel();
        }
        return {};
    case socket_option::keep_idle:
    case socket_option::keep_interval:
    case socket_option::keep_count:
        if (v <= 0 || v > 32767) return error{EINVAL};
        if (opt == socket_option::keep_idle) keep_idle_ = seconds(v);
        if (opt == socket_option::keep_interval) keep_interval_ = seconds(v);
        if (opt == socket_option::keep_count) keep_count_ = static_cast<unsigned>(v);
        return {};
    case socket_option::send_buffer:
        if (v <= 0) return error{EINVAL};
        snd_.set_capacity(static_cast<std::size_t>(v));
        writable_.wake_all();
        return {};
    case socket_option::receive_buffer:
        if (v <= 0) return error{EINVAL};
        rcv_.set_capacity(static_cast<std::size_t>(v));
        ooo_.set_max_bytes(static_cast<std::size_t>(v));
        rcv_locked_ = true;
        return {};
    case socket_option::linger:
        linger_ = v < 0 ? -1 : static_cast<int>(v);
        return {};
    case socket_option::user_timeout:
        if (v < 0) return error{EINVAL};
        user_timeout_ = milliseconds(v);
        return {};
    case socket_option::congestion_control:
        if (v != 0 && v != 1) return error{EINVAL};
        if (cc_) return error{EISCONN}; // chosen at the handshake
        algorithm_ = static_cast<congestion_algorithm>(v);
        return {};
    case socket_option::reuse_address:
        reuse_address_ = v != 0;
        return {};
    case socket_option::reuse_port: // one stack per shard: no port to share (socket.hpp)
        reuse_port_ = v != 0;
        return {};
    case socket_option::non_blocking:
        non_blocking_ = v != 0;
        return {};
    case socket_option::max_segment:
        // Linux's bounds (TCP_MIN_MSS, MAX_TCP_WINDOW); the next handshake applies it.
        if (v != 0 && (v < 88 || v > 32767)) return error{EINVAL};
        user_mss_ = static_cast<std::uint16_t>(v);
        return {};
    case socket_option::cork:
        cork_ = v != 0;
        if (!cork_ && synchronized(state_)) output(); // uncorked: Nagle decides again
        return {};
    case socket_option::more:
        more_next_ = v != 0;
        return {};
    case socket_option::not_sent_low_water:
        if (v < 0 || v > UINT32_MAX) return error{EINVAL};
        low_water_ = static_cast<std::uint32_t>(v);
        writable_.wake_all(); // a higher mark may let a writer in
        return {};
    case socket_option::receive_timeout:
    case socket_option::send_timeout:
        break; // the process layer's (socket_object::timeouts)
    }
    return error{ENOPROTOOPT};
}

result<std::int64_t> socket::get_option(socket_option opt) const {
    using namespace std::chrono;
    switch (opt) {
    case socket_option::no_delay: return std::int64_t{no_delay_};
    case socket_option::keep_alive: return std::int64_t{keep_alive_};
    case socket_option::keep_idle: return std::int64_t{duration_cast<seconds>(keep_idle_).count()};
    case socket_option::keep_interval:
        return std::int64_t{duration_cast<seconds>(keep_interval_).count()};
    case socket_option::keep_count: return std::int64_t{keep_count_};
    case socket_option::send_buffer: return static_cast<std::int64_t>(snd_.capacity());
    case socket_option::receive_buffer: return static_cast<std::int64_t>(rcv_.capacity());
    case socket_option::linger: return std::int64_t{linger_};
    case socket_option::user_timeout:
        return std::int64_t{duration_cast<milliseconds>(user_timeout_).count()};
    case socket_option::congestion_control: return static_cast<std::int64_t>(algorithm_);
    case socket_option::reuse_address: return std::int64_t{reuse_address_};
    case socket_option::reuse_port:
        return std::int64_t{reuse_port_};
    case socket_option::non_blocking: return std::int64_t{non_blocking_};
    case socket_option::max_segment: return std::int64_t{user_mss_};
    case socket_option::cork: return std::int64_t{cork_};
    case socket_option::more: return std::int64_t{more_next_};
    case socket_option::not_sent_low_water: return std::int64_t{low_water_};
    case socket_option::receive_timeout:
    case socket_option::send_timeout:
        break;
    }
    return error{ENOPROTOOPT};
}

void socket::icmp_error(int err) {
    // RFC 9293 §3.9.2.2 / RFC 5461: hard errors abort a connection still being opened;
    // otherwise they are soft, reported only if the connection then times out.
    if (state_ == state::syn_sent && (err == ECONNREFUSED || err == EHOSTUNREACH ||
                                      err == ENETUNREACH)) {
        ++layer_->stats().attempt_fails;
        return to_closed(err);
    }
    soft_error_ = err;
}

} // namespace coronet::tcp
