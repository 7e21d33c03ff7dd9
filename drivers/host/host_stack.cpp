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
      zero_copy_supported_(reactor.supports(IORING_OP_SEND_ZC) && reactor.supports(IORING_OP_SENDMSG_ZC)),
      linked_timeouts_(opts.linked_timeouts && reactor.supports(IORING_OP_LINK_TIMEOUT)) {
    const std::uint32_t slots = opts_.registered_files;
    if (slots == 0) return;
    // EBUSY: the ring has a table already (another stack's); EINVAL, ENOMEM: none at all.
    if (io_uring_register_files_sparse(&reactor_.ring(), slots) < 0) return;
    files_registered_ = true;
    try {
        free_slots_.reserve(slots);
    } catch (const std::bad_alloc&) {
        return; // no slots to hand out: every socket counts as unregistered
    }
    for (std::uint32_t i = slots; i > 0; --i) free_slots_.push_back(i - 1); // slot 0 first
}

host_stack::~host_stack() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (lingering_ > 0 && std::chrono::steady_clock::now() < deadline)
        reactor_.wait(std::chrono::milliseconds(10));
    if (files_registered_) (void)io_uring_unregister_files(&reactor_.ring());
}

int host_stack::take_slot(int fd) noexcept {
    if (opts_.registered_files == 0) return -1;
    if (free_slots_.empty()) {
        ++stats_.unregistered;
        return -1;
    }
    const std::uint32_t slot = free_slots_.back();
    if (io_uring_register_files_update(&reactor_.ring(), slot, &fd, 1) != 1) {
        ++stats_.unregistered;
        return -1;
    }
    free_slots_.pop_back();
    ++stats_.registered;
    return static_cast<int>(slot);
}

void host_stack::release_slot(int slot) noexcept {
    int none = -1; // empties the slot: the table drops its reference on the file
    (void)io_uring_register_files_update(&reactor_.ring(), static_cast<unsigned>(slot), &none, 1);
    free_slots_.push_back(static_cast<std::uint32_t>(slot)); // reserved: cannot throw
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
