// Segments for a listener (RFC 9293 §3.10.7.2): SYNs make half-open children in a SYN queue
// bounded by the backlog; past it, SYN cookies (RFC 4987 §3.6) answer without state, and the
// ACK that returns a valid cookie makes the connection. Children that complete the handshake
// wait in the accept queue; those that never do are reclaimed after their SYN-ACK retries.
//
// What the queues pin, decided here. Both are bounded in connections: the SYN queue by
// min(backlog, max_syn_backlog), the accept queue by the backlog (a SYN or a returning
// cookie beyond it is dropped and counted in listen_overflows, and a child's handshake ACK
// is ignored, as Linux does). A half-open child holds no pool buffer (its SYN-ACK is built
// anew on each retry); a child waiting in the accept queue pins what its receive queue
// holds, which is charged to the host's budget as tcp_receive like any connection's, and
// its socket, which is heap memory bounded by the backlog. So the accept queue is not
// charged again as a queue of its own; its length is the gauge tcp.accept_queue_connections.
// When the budget is at its hard limit a SYN makes no child: it is answered with a cookie
// (listen_memory_cookies), which keeps no state until the peer proves it is there, and the
// child it then makes may hold only the budget's floor.
#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/mss.hpp"

#include <algorithm>

namespace coronet::tcp {

void layer::listen_input(socket& l, segment&& seg, const four_tuple& t,
                         std::optional<seq32> isn) {
    // "first check for an RST: An incoming RST should be ignored."
    if (seg.has(flag::rst)) return;
    // "second check for an ACK: ... form a reset segment <SEQ=SEG.ACK><CTL=RST>" unless it
    // returns one of our SYN cookies.
    if (seg.has(flag::ack)) {
        if (!seg.has(flag::syn) && cfg_.syn_cookies) return cookie_ack(l, std::move(seg), t);
        return send_reset(seg, t.local, t.remote);
    }
    if (seg.has(flag::syn)) return syn_to_listener(l, std::move(seg), t, isn);
}

ref<socket> layer::make_child(const socket& l, const four_tuple& t) {
    // Linux copies the listener's options to each child, whether it came through the SYN
    // queue or a cookie.
    ref<socket> child = make_object<socket>(*this);
    socket& c = *child;
    c.local_ = t.local;
    c.remote_ = t.remote;
    c.no_delay_ = l.no_delay_;
    c.keep_alive_ = l.keep_alive_;
    c.keep_idle_ = l.keep_idle_;
    c.keep_interval_ = l.keep_interval_;
    c.keep_count_ = l.keep_count_;
    c.linger_ = l.linger_;
    c.user_mss_ = l.user_mss_;
    c.cork_ = l.cork_;
    c.low_water_ = l.low_water_;
    c.user_timeout_ = l.user_timeout_;
    c.algorithm_ = l.algorithm_;
    c.rcv_locked_ = l.rcv_locked_;
    c.snd_.set_capacity(l.snd_.capacity());
    c.rcv_.set_capacity(l.rcv_.capacity());
    c.ooo_.set_max_bytes(l.ooo_.max_bytes());
    return child;
}

void layer::syn_to_listener(socket& l, segment&& seg, const four_tuple& t,
                            std::optional<seq32> isn) {
    if (l.accept_queue_.size() >= static_cast<std::size_t>(l.backlog_)) {
        ++stats_.listen_overflows;
        ++stats_.listen_drops;
        return;
    }
    const std::size_t syn_limit =
        static_cast<std::size_t>(std::min(l.backlog_, cfg_.max_syn_backlog));
    const memory_budget* budget = net_.memory();
    const bool memory_full = budget != nullptr && budget->at_hard_limit();
    if (l.syn_queue_ >= syn_limit || memory_full) {
        if (cfg_.syn_cookies) {
            if (memory_full) ++stats_.listen_memory_cookies;
            return send_syn_cookie(seg, t);
        }
        ++stats_.listen_drops;
        return;
    }
    if (!net_.route(t.remote.address)) {
        ++stats_.listen_drops;
        return;
    }
    ref<socket> child = make_child(l, t);
    socket& c = *child;
    c.init_send(isn.value_or(isn_.next(t.local, t.remote, now())), default_peer_mss);
    c.init_receive(seg.seq());
    c.negotiate(seg.header.options, false);
    c.snd_wnd_ = c.max_snd_wnd_ = seg.header.window; // a SYN's window is not scaled
    c.snd_wl1_ = seg.seq();
    c.snd_wl2_ = c.iss_;
    c.listener_ = &l;
    l.children_->push_back(c);
    ++l.syn_queue_;
    c.set_state(state::syn_received);
    c.last_received_ = now();
    insert(c);
    ++stats_.passive_opens;
    c.send_syn();
    c.arm_rtx();
}

void layer::send_syn_cookie(const segment& seg, const four_tuple& t) {
    auto path = net_.route(t.remote.address);
    if (!path) return;
    const std::uint16_t our_mss = mss_for_mtu(path->mtu);
    const auto peer = tcp::peer_mss(seg.header.options.mss, our_mss);
    if (peer.clamped) ++stats_.peer_mss_clamped;
    const std::uint16_t mss = peer.value;
    const seq32 cookie = cookies_.encode(t.local, t.remote, seg.seq(), mss, now());
    auto p = packet::allocate(net_.pool());
    if (!p) {
        ++stats_.no_buffers;
        return;
    }
    repr r;
    r.source_port = t.local.port;
    r.destination_port = t.remote.port;
    r.sequence = cookie.raw();
    r.acknowledgment = (seg.seq() + 1).raw();
    r.flags = flag::syn | flag::ack;
    r.window = static_cast<std::uint16_t>(std::min<std::size_t>(cfg_.receive_buffer, 65535));
    r.options.mss = our_mss;
    auto h = p->push_header(static_cast<std::uint32_t>(r.header_length()));
    if (!h) {
        ++stats_.no_buffers;
        return;
    }
    emit_header(r, *h, {t.local.address, t.remote.address}, 0);
    ++stats_.syncookies_sent;
    ++stats_.out_segs;
    if (tracing()) trace("tx", r, t.local.address, t.remote.address, "SYN cookie");
    (void)net_.send_segment(std::move(*p), t.local.address, t.remote.address);
}

void layer::cookie_ack(socket& l, segment&& seg, const four_tuple& t) {
    const seq32 peer_isn = seg.seq() - 1;
    const seq32 cookie = seg.ack() - 1;
    const auto mss = cookies_.decode(t.local, t.remote, peer_isn, cookie, now());
    if (!mss) {
        ++stats_.syncookies_failed;
        return send_reset(seg, t.local, t.remote);
    }
    if (l.accept_queue_.size() >= static_cast<std::size_t>(l.backlog_)) {
        ++stats_.listen_overflows;
        ++stats_.listen_drops;
        return;
    }
    ++stats_.syncookies_recv;
    // The cookie remembered only the MSS: no window scaling, SACK or timestamps.
    ref<socket> child = make_child(l, t);
    socket& c = *child;
    c.init_send(cookie, *mss);
    c.rcv_wscale_ = 0;
    c.init_receive(peer_isn);
    tcp::options none;
    none.mss = *mss;
    c.negotiate(none, false);
    c.snd_nxt_ = c.snd_max_ = cookie + 1;
    c.snd_wl1_ = seg.seq() - 1;
    c.snd_wl2_ = cookie;
    c.rcv_adv_ = c.rcv_nxt_ + static_cast<std::uint32_t>(std::min<std::size_t>(cfg_.receive_buffer, 65535));
    c.listener_ = &l;
    l.children_->push_back(c);
    ++l.syn_queue_;
    c.set_state(state::syn_received);
    insert(c);
    ++stats_.passive_opens;
    c.input(std::move(seg)); // the ACK completes the handshake, its data is taken
}

} // namespace coronet::tcp
