#include "protocols/tcp/connection_table.hpp"

#include "protocols/tcp/layer.hpp"
#include "protocols/tcp/socket.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace coronet::tcp {

namespace {

connection_row row_of(const socket& s, bool listener) {
    connection_row r;
    if (auto info = s.connection_info()) r.info = *info;
    r.state = r.info.state;
    if (auto l = s.local_endpoint()) r.local = *l;
    if (!listener) {
        if (auto p = s.peer_endpoint()) r.remote = *p;
        r.recv_q = s.readable_bytes();
        r.send_q = s.send_queued();
    } else {
        r.recv_q = s.accept_queue_size();
        r.send_q = r.info.sacked; // the backlog, where Linux's TCP_INFO puts it too
    }
    return r;
}

std::string peer_text(const connection_row& r) {
    return r.state == tcp_state::listen ? std::string("*:*") : to_string(r.remote);
}

// printf into a std::string (the core does without fmt, which only the examples use).
template <class... Args>
void append(std::string& out, const char* format, Args... args) {
    char line[512];
    const int n = std::snprintf(line, sizeof line, format, args...);
    if (n > 0)
        out.append(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
}

} // namespace

std::string_view state_name(tcp_state s) noexcept {
    switch (s) {
    case tcp_state::established:
        return "ESTABLISHED";
    case tcp_state::syn_sent:
        return "SYN-SENT";
    case tcp_state::syn_received:
        return "SYN-RECV";
    case tcp_state::fin_wait_1:
        return "FIN-WAIT-1";
    case tcp_state::fin_wait_2:
        return "FIN-WAIT-2";
    case tcp_state::time_wait:
        return "TIME-WAIT";
    case tcp_state::closed:
        return "CLOSED";
    case tcp_state::close_wait:
        return "CLOSE-WAIT";
    case tcp_state::last_ack:
        return "LAST-ACK";
    case tcp_state::listen:
        return "LISTEN";
    case tcp_state::closing:
        return "CLOSING";
    }
    return "UNKNOWN";
}

std::vector<connection_row> connection_rows(const layer& tcp) {
    std::vector<connection_row> rows;
    for (const socket* s : tcp.listeners())
        rows.push_back(row_of(*s, true));
    for (const socket* s : tcp.connections())
        rows.push_back(row_of(*s, false));
    return rows;
}

std::string connection_text(const std::vector<connection_row>& rows) {
    std::string out;
    append(out, "%-12s%8s%8s  %-22s%-22s%14s%7s%9s%9s%12s%12s\n", "State", "Recv-Q", "Send-Q",
           "Local", "Peer", "rtt/var ms", "cwnd", "ssthresh", "retrans", "acked", "received");
    for (const auto& r : rows) {
        append(out, "%-12s%8zu%8zu  %-22s%-22s", std::string(state_name(r.state)).c_str(), r.recv_q,
               r.send_q, to_string(r.local).c_str(), peer_text(r).c_str());
        if (r.state != tcp_state::listen) {
            char rtt[32];
            std::snprintf(rtt, sizeof rtt, "%.1f/%.1f", r.info.rtt / 1000.0,
                          r.info.rttvar / 1000.0);
            append(out, "%14s%7" PRIu32 "%9" PRIu32 "%9" PRIu32 "%12" PRIu64 "%12" PRIu64, rtt,
                   r.info.snd_cwnd, r.info.snd_ssthresh, r.info.total_retrans, r.info.bytes_acked,
                   r.info.bytes_received);
        }
        out += '\n';
    }
    return out;
}

std::string connection_json(const std::vector<connection_row>& rows) {
    std::string out = "{\"connections\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        if (i > 0) out += ',';
        // Every value is a number, or a name or an address printed here: nothing to escape.
        append(out,
               "{\"state\":\"%s\",\"local\":\"%s\",\"peer\":\"%s\",\"recv_q\":%zu,\"send_q\":%zu",
               std::string(state_name(r.state)).c_str(), to_string(r.local).c_str(),
               peer_text(r).c_str(), r.recv_q, r.send_q);
        if (r.state != tcp_state::listen)
            append(out,
                   ",\"rtt_us\":%" PRIu32 ",\"rttvar_us\":%" PRIu32 ",\"rto_us\":%" PRIu32
                   ",\"snd_mss\":%" PRIu32 ",\"snd_cwnd\":%" PRIu32 ",\"snd_ssthresh\":%" PRIu32
                   ",\"total_retrans\":%" PRIu32 ",\"bytes_acked\":%" PRIu64
                   ",\"bytes_received\":%" PRIu64 ",\"notsent_bytes\":%" PRIu32,
                   r.info.rtt, r.info.rttvar, r.info.rto, r.info.snd_mss, r.info.snd_cwnd,
                   r.info.snd_ssthresh, r.info.total_retrans, r.info.bytes_acked,
                   r.info.bytes_received, r.info.notsent_bytes);
        out += '}';
    }
    out += "]}\n";
    return out;
}

} // namespace coronet::tcp
