#include "drivers/host/cpu_steering.hpp"

#include <array>
#include <cerrno>
#include <linux/filter.h>
#include <sys/socket.h>

namespace coronet::host {

result<> steer_by_cpu(int fd, std::uint32_t listeners) noexcept {
    if (listeners == 0) return error{EINVAL}; // a modulo by zero
    // A = the CPU running the lookup (the SYN's softirq); A %= listeners; return A. An index
    // beyond the group's size (a listener gone) makes the kernel fall back to its hash.
    std::array<sock_filter, 3> code{{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_CPU)),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, listeners),
        BPF_STMT(BPF_RET | BPF_A, 0),
    }};
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0)
        return error{errno};
    return {};
}

} // namespace coronet::host
