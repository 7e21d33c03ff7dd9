#include "framework/process/socket_table.hpp"

#include "framework/process/process.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <unordered_map>

namespace coronet {

namespace {

// printf into a std::string (the framework does without fmt, which only the examples use).
template <class... Args>
void append(std::string& out, const char* format, Args... args) {
    char line[512];
    const int n = std::snprintf(line, sizeof line, format, args...);
    if (n > 0)
        out.append(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
}

bool has_peer(const socket_row& r) noexcept {
    return r.state != tcp_state::listen && r.state != tcp_state::closed;
}

// ss prints a missing peer as "0.0.0.0:*".
std::string peer_text(const socket_row& r) {
    return has_peer(r) ? to_string(r.remote) : to_string(r.remote.address) + ":*";
}

std::string_view netid(const socket_row& r) noexcept {
    return r.protocol == socket_protocol::tcp ? "tcp" : "udp";
}

bool is_connection(const socket_row& r) noexcept {
    return r.protocol == socket_protocol::tcp && r.state != tcp_state::listen;
}

// A process name is the program's to choose: escaped as JSON and ss want it, in quotes.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            append(out, "\\u%04x", unsigned{u});
        } else {
            out += c;
        }
    }
    return out + '"';
}

std::string users_text(const socket_row& r) {
    if (r.owners.empty()) return {};
    std::string out = "users:(";
    for (std::size_t i = 0; i < r.owners.size(); ++i) {
        const auto& o = r.owners[i];
        if (i > 0) out += ',';
        append(out, "(%s,pid=%" PRIu64 ",handle=0x%" PRIx64 ")", quoted(o.process).c_str(), o.pid,
               o.id.value());
    }
    return out + ')';
}

// ss -i's line of a TCP connection: its names, its units (milliseconds for times).
std::string tcp_details(const tcp_info& i) {
    std::string out;
    if (i.sack) out += " sack";
    if (i.timestamps) out += " ts";
    if (i.window_scale)
        append(out, " wscale:%u,%u", unsigned{i.snd_wscale}, unsigned{i.rcv_wscale});
    append(out,
           " rto:%.0fms rtt:%.3g/%.3gms mss:%" PRIu32 " rcvmss:%" PRIu32 " advmss:%" PRIu32
           " cwnd:%" PRIu32,
           i.rto / 1000.0, i.rtt / 1000.0, i.rttvar / 1000.0, i.snd_mss, i.rcv_mss, i.advmss,
           i.snd_cwnd);
    // ss leaves out an ssthresh of 65535 segments or more: the initial "infinite" one.
    if (i.snd_ssthresh != 0 && i.snd_ssthresh < 0xffff)
        append(out, " ssthresh:%" PRIu32, i.snd_ssthresh);
    append(out,
           " bytes_acked:%" PRIu64 " bytes_received:%" PRIu64 " segs_out:%" PRIu32
           " segs_in:%" PRIu32 " data_segs_out:%" PRIu32 " data_segs_in:%" PRIu32,
           i.bytes_acked, i.bytes_received, i.segs_out, i.segs_in, i.data_segs_out, i.data_segs_in);
    append(out, " retrans:%u/%" PRIu32 " unacked:%" PRIu32 " sacked:%" PRIu32 " lost:%" PRIu32,
           unsigned{i.retransmits}, i.total_retrans, i.unacked, i.sacked, i.lost);
    if (i.min_rtt != 0) append(out, " minrtt:%.3gms", i.min_rtt / 1000.0);
    append(out, " notsent:%" PRIu32 " snd_wnd:%" PRIu32 " rcv_space:%" PRIu32, i.notsent_bytes,
           i.snd_wnd, i.rcv_space);
    return out;
}

} // namespace

std::string_view state_name(tcp_state s) noexcept {
    switch (s) {
    case tcp_state::established:
        return "ESTAB";
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
        return "UNCONN";
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

std::string_view timer_name(timer_kind k) noexcept {
    switch (k) {
    case timer_kind::off:
        return "off";
    case timer_kind::on:
        return "on";
    case timer_kind::keepalive:
        return "keepalive";
    case timer_kind::timewait:
        return "timewait";
    case timer_kind::persist:
        return "persist";
    }
    return "unknown";
}

std::string timer_text(duration left) {
    const auto ms = std::max<std::int64_t>(0, left / std::chrono::milliseconds(1));
    if (ms == 0) return "0ms";
    // ss's print_ms_timer: minutes drop the milliseconds, and ten or more the seconds; ten
    // or more seconds drop the milliseconds; seconds with milliseconds read "1.500ms".
    const std::int64_t minutes = ms / 60000;
    std::int64_t secs = ms / 1000 % 60;
    std::int64_t msecs = ms % 1000;
    std::string out;
    if (minutes != 0) {
        msecs = 0;
        append(out, "%" PRId64 "min", minutes);
        if (minutes > 9) secs = 0;
    }
    if (secs != 0) {
        if (secs > 9) msecs = 0;
        append(out, "%" PRId64 "%s", secs, msecs != 0 ? "." : "sec");
    }
    if (msecs != 0) append(out, "%03" PRId64 "ms", msecs);
    return out;
}

void add_owners(std::vector<socket_row>& rows) {
    std::unordered_map<const kernel_object*, std::size_t> row_of;
    row_of.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i].owners.clear();
        if (rows[i].object != nullptr) row_of.emplace(rows[i].object, i);
    }
    for (process* p : process::on_this_thread())
        for (const open_handle h : p->handles())
            if (auto it = row_of.find(h.object); it != row_of.end())
                rows[it->second].owners.push_back(socket_owner{p->name(), p->id(), h.id});
}

result<std::vector<socket_row>> socket_table(const network_stack& stack) {
    auto rows = stack.socket_rows();
    if (rows) add_owners(*rows);
    return rows;
}

std::string socket_table_text(const std::vector<socket_row>& rows) {
    std::string out;
    append(out, "%-6s%-11s%-7s%-7s%-23s%-23s%s\n", "Netid", "State", "Recv-Q", "Send-Q",
           "Local Address:Port", "Peer Address:Port", "Process");
    for (const auto& r : rows) {
        append(out, "%-6s%-11s%-6zu %-6zu %-22s %-22s", std::string(netid(r)).c_str(),
               std::string(state_name(r.state)).c_str(), r.recv_q, r.send_q,
               to_string(r.local).c_str(), peer_text(r).c_str());
        std::string extra = users_text(r);
        if (r.timer.kind != timer_kind::off) {
            if (!extra.empty()) extra += ' ';
            append(extra, "timer:(%s,%s,%u)", std::string(timer_name(r.timer.kind)).c_str(),
                   timer_text(r.timer.left).c_str(), r.timer.retries);
        }
        out += ' ';
        out += extra;
        while (!out.empty() && out.back() == ' ')
            out.pop_back();
        out += '\n';
        if (is_connection(r)) { // appended piece by piece: "\t" + a temporary trips g++ 12's -O3 -Wrestrict
            out += '\t';
            out += tcp_details(r.info);
            out += '\n';
        } else if (r.protocol == socket_protocol::udp)
            append(out, "\t datagrams:%zu drops:%" PRIu64 "\n", r.datagrams, r.drops);
    }
    return out;
}

std::string socket_table_json(const std::vector<socket_row>& rows) {
    std::string out = "{\"sockets\":[";
    for (std::size_t n = 0; n < rows.size(); ++n) {
        const auto& r = rows[n];
        if (n > 0) out += ',';
        append(out,
               "{\"netid\":\"%s\",\"state\":\"%s\",\"local\":\"%s\",\"peer\":\"%s\","
               "\"recv_q\":%zu,\"send_q\":%zu",
               std::string(netid(r)).c_str(), std::string(state_name(r.state)).c_str(),
               to_string(r.local).c_str(), peer_text(r).c_str(), r.recv_q, r.send_q);
        if (r.timer.kind != timer_kind::off)
            append(out, ",\"timer\":{\"kind\":\"%s\",\"left_ms\":%" PRId64 ",\"retries\":%u}",
                   std::string(timer_name(r.timer.kind)).c_str(),
                   std::max<std::int64_t>(0, r.timer.left / std::chrono::milliseconds(1)),
                   r.timer.retries);
        out += ",\"owners\":[";
        for (std::size_t i = 0; i < r.owners.size(); ++i) {
            const auto& o = r.owners[i];
            if (i > 0) out += ',';
            append(out, "{\"process\":%s,\"pid\":%" PRIu64 ",\"handle\":%" PRIu64 "}",
                   quoted(o.process).c_str(), o.pid, o.id.value());
        }
        out += ']';
        if (r.protocol == socket_protocol::udp)
            append(out, ",\"datagrams\":%zu,\"drops\":%" PRIu64, r.datagrams, r.drops);
        if (is_connection(r)) {
            const tcp_info& i = r.info;
            append(out,
                   ",\"rtt_us\":%" PRIu32 ",\"rttvar_us\":%" PRIu32 ",\"rto_us\":%" PRIu32
                   ",\"snd_mss\":%" PRIu32 ",\"snd_cwnd\":%" PRIu32 ",\"snd_ssthresh\":%" PRIu32
                   ",\"total_retrans\":%" PRIu32 ",\"bytes_acked\":%" PRIu64
                   ",\"bytes_received\":%" PRIu64 ",\"notsent_bytes\":%" PRIu32,
                   i.rtt, i.rttvar, i.rto, i.snd_mss, i.snd_cwnd, i.snd_ssthresh, i.total_retrans,
                   i.bytes_acked, i.bytes_received, i.notsent_bytes);
            append(out,
                   ",\"segs_out\":%" PRIu32 ",\"segs_in\":%" PRIu32 ",\"unacked\":%" PRIu32
                   ",\"lost\":%" PRIu32 ",\"snd_wnd\":%" PRIu32,
                   i.segs_out, i.segs_in, i.unacked, i.lost, i.snd_wnd);
        }
        out += '}';
    }
    out += "]}\n";
    return out;
}

} // namespace coronet
