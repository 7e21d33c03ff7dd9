#include "protocols/tcp/socket_rows.hpp"

#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

namespace coronet::tcp {

namespace {

socket_row row_of(const socket& s, bool listener, time_point now) {
    socket_row r;
    r.protocol = socket_protocol::tcp;
    r.object = &s;
    if (auto info = s.connection_info()) r.info = *info;
    r.state = r.info.state;
    if (auto l = s.local_endpoint()) r.local = *l;
    if (!listener) {
        if (auto p = s.peer_endpoint()) r.remote = *p;
        r.recv_q = s.readable_bytes();
        r.send_q = s.send_queued();
        r.timer = s.pending_timer(now);
    } else {
        r.recv_q = s.accept_queue_size();
        r.send_q = r.info.sacked; // the backlog, where Linux's TCP_INFO puts it too
    }
    return r;
}

} // namespace

std::vector<socket_row> socket_rows(const layer& tcp) {
    std::vector<socket_row> rows;
    const time_point now = tcp.now();
    for (const socket* s : tcp.listeners())
        rows.push_back(row_of(*s, true, now));
    for (const socket* s : tcp.connections())
        rows.push_back(row_of(*s, false, now));
    return rows;
}

} // namespace coronet::tcp
