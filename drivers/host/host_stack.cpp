#include "drivers/host/host_stack.hpp"

#include "drivers/host/host_socket.hpp"
#include "drivers/host/receive_buffers.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <new>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

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

host_stack::host_stack(uring::uring_reactor& reactor, host_options opts) noexcept
    : reactor_(reactor), opts_(opts),
      zero_copy_supported_(reactor.supports(IORING_OP_SEND_ZC) && reactor.supports(IORING_OP_SENDMSG_ZC)) {}

host_stack::~host_stack() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (lingering_ > 0 && std::chrono::steady_clock::now() < deadline)
        reactor_.wait(std::chrono::milliseconds(10));
}

result<ref<socket_object>> host_stack::socket(socket_type type) {
    int kind = type == socket_type::stream ? SOCK_STREAM : SOCK_DGRAM;
    int fd = ::socket(AF_INET, kind | SOCK_CLOEXEC, 0);
    if (fd < 0) return error{errno};
    if (opts_.reuse_port) {
        const int on = 1;
        if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) {
            const int err = errno;
            ::close(fd);
            return error{err};
        }
    }
    auto s = make_object<host_socket>(*this, fd, type);
    if (!opts_.multishot_accept) s->use_single_accepts();
    return ref<socket_object>(std::move(s));
}

} // namespace coronet::host

namespace coronet::host {

result<receive_buffers*> host_stack::lending_buffers() {
    if (!lending_) {
        try {
            lending_ = std::make_unique<receive_buffers>(reactor_, opts_.receive_buffers,
                                                         opts_.receive_buffer_size);
        } catch (const std::system_error& e) {
            return error{e.code().value()};
        } catch (const std::invalid_argument&) { // host_options' count or size
            return error{EINVAL};
        } catch (const std::bad_alloc&) {
            return error{ENOMEM};
        }
    }
    return lending_.get();
}

} // namespace coronet::host
