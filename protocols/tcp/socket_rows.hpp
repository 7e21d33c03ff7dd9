#pragma once
// The TCP rows of one native stack's socket table (framework/process/socket_row.hpp): every
// listener, by port, then every connection in the 4-tuple table (half-open children and
// those waiting in accept queues, TIME-WAIT too), with queues, timer and TCP_INFO.
#include "framework/process/socket_row.hpp"

#include <vector>

namespace coronet::tcp {

class layer;

std::vector<socket_row> socket_rows(const layer& tcp);

} // namespace coronet::tcp
