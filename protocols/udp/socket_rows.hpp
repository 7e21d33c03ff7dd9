#pragma once
// The UDP rows of one native stack's socket table (framework/process/socket_row.hpp): every
// bound socket, by local port, UNCONN or (connected) ESTAB as ss shows them, with the
// payload bytes and datagrams queued and the datagrams its full queue dropped.
#include "framework/process/socket_row.hpp"

#include <vector>

namespace coronet::udp {

class layer;

std::vector<socket_row> socket_rows(const layer& udp);

} // namespace coronet::udp
