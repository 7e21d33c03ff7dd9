#include "protocols/udp/socket_rows.hpp"

#include "protocols/udp/layer.hpp"
#include "protocols/udp/socket.hpp"

namespace coronet::udp {

std::vector<socket_row> socket_rows(const layer& udp) {
    std::vector<socket_row> rows;
    for (const socket* s : udp.bound_sockets()) {
        socket_row r;
        r.protocol = socket_protocol::udp;
        r.object = s;
        r.state = s->connected() ? tcp_state::established : tcp_state::closed;
        r.local = s->local();
        if (s->connected()) r.remote = s->peer();
        r.recv_q = s->queued_bytes();
        r.datagrams = s->queued_datagrams();
        r.drops = s->drops();
        rows.push_back(std::move(r));
    }
    return rows;
}

} // namespace coronet::udp
