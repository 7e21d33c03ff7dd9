#pragma once
// Steering a SO_REUSEPORT group by CPU (host_options::steer_by_cpu). Without a program the
// kernel picks a group's listener by a hash of the connection's 4-tuple, whatever CPU took
// its packets, so a shard may serve a connection whose packets another core handled. With
// this classic BPF program (SO_ATTACH_REUSEPORT_CBPF, the Seastar and nginx practice) it
// picks listener (CPU that took the SYN) % n, so a shard pinned to CPU i, whose listener
// joined the group i-th (the order of listen()), serves what arrives on its own core. The
// program is the group's: attaching it on any one listener replaces it for all of them.
#include "framework/result.hpp"

#include <cstdint>

namespace coronet::host {

// Attaches the program to `fd`, a listener with SO_REUSEPORT; `listeners` is the group's
// size, 1 or more (EINVAL for 0). EINVAL from the kernel for a socket without SO_REUSEPORT.
result<> steer_by_cpu(int fd, std::uint32_t listeners) noexcept;

} // namespace coronet::host
