#pragma once
// The eleven states of a TCP connection (RFC 9293 §3.3.2).
#include <cstdint>
#include <string_view>

namespace coronet::tcp {

enum class state : std::uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};

constexpr std::string_view name(state s) noexcept {
    constexpr std::string_view names[] = {"CLOSED",     "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                          "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                          "CLOSING",    "LAST-ACK",   "TIME-WAIT"};
    return names[static_cast<std::uint8_t>(s)];
}

// RFC 9293 §3.3.2: the states after the handshake ("synchronized").
constexpr bool synchronized(state s) noexcept {
    return s >= state::established;
}
// The states in which received data is accepted (RFC 9293 §3.10.7.4, seventh check).
constexpr bool receives_data(state s) noexcept {
    return s == state::established || s == state::fin_wait_1 || s == state::fin_wait_2;
}
// The states in which the application may still send.
constexpr bool can_send(state s) noexcept {
    return s == state::established || s == state::close_wait;
}

} // namespace coronet::tcp
