#include "drivers/host/host_stack.hpp"

#include "drivers/host/host_socket.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace coronet::host {

sockaddr_in to_sockaddr(const endpoint& e) noexcept {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(e.port.value());
    sa.sin_addr.s_addr = htonl(e.address.to_uint());
    return sa;
}

endpoint to_endpoint(const sockaddr_in& sa) noexcept {
    return endpoint{ipv4_address(ntohl(sa.sin_addr.s_addr)), port(ntohs(sa.sin_port))};
}

result<ref<socket_object>> host_stack::socket(socket_type type) {
    int kind = type == socket_type::stream ? SOCK_STREAM : SOCK_DGRAM;
    int fd = ::socket(AF_INET, kind | SOCK_CLOEXEC, 0);
    if (fd < 0) return error{errno};
    return ref<socket_object>(make_object<host_socket>(reactor_, fd, type));
}

} // namespace coronet::host
