#pragma once
// The shared-object ABI of packetdrill (google/packetdrill), in coronet's own words.
//
// packetdrill built with --so_filename=X.so dlopens X, calls its exported C function
// packetdrill_interface_init(flags, table) once, and from then on makes every socket call of
// a script through the table instead of the kernel, injects the script's inbound packets with
// netdev_send, sniffs the stack's outbound packets with netdev_receive, and reads and spends
// time only through gettimeofday and usleep. Packets are IP datagrams (no link header).
// A call that fails returns -1 and leaves its Linux errno value in errno, as a system call.
//
// Only the layout below is shared with packetdrill: the order and the types of the
// members are the contract, the names are ours.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

namespace coronet::packetdrill {

extern "C" {

struct interface_table {
    void* self; // handed back as the first argument of every call
    void (*destroy)(void* self);
    int (*socket)(void* self, int domain, int type, int protocol);
    int (*bind)(void* self, int fd, const sockaddr* addr, socklen_t len);
    int (*listen)(void* self, int fd, int backlog);
    int (*accept)(void* self, int fd, sockaddr* addr, socklen_t* len);
    int (*connect)(void* self, int fd, const sockaddr* addr, socklen_t len);
    ssize_t (*read)(void* self, int fd, void* buf, size_t count);
    ssize_t (*readv)(void* self, int fd, const iovec* iov, int iovcnt);
    ssize_t (*recv)(void* self, int fd, void* buf, size_t len, int flags);
    ssize_t (*recvfrom)(void* self, int fd, void* buf, size_t len, int flags, sockaddr* from,
                        socklen_t* from_len);
    ssize_t (*recvmsg)(void* self, int fd, msghdr* msg, int flags);
    ssize_t (*write)(void* self, int fd, const void* buf, size_t count);
    ssize_t (*writev)(void* self, int fd, const iovec* iov, int iovcnt);
    ssize_t (*send)(void* self, int fd, const void* buf, size_t len, int flags);
    ssize_t (*sendto)(void* self, int fd, const void* buf, size_t len, int flags,
                      const sockaddr* to, socklen_t to_len);
    ssize_t (*sendmsg)(void* self, int fd, const msghdr* msg, int flags);
    int (*fcntl)(void* self, int fd, int cmd, ...);
    int (*ioctl)(void* self, int fd, unsigned long request, ...);
    int (*close)(void* self, int fd);
    int (*shutdown)(void* self, int fd, int how);
    int (*getsockopt)(void* self, int fd, int level, int name, void* value, socklen_t* len);
    int (*setsockopt)(void* self, int fd, int level, int name, const void* value, socklen_t len);
    int (*poll)(void* self, pollfd* fds, nfds_t nfds, int timeout_ms);
    // An inbound IP datagram of `count` bytes from the script: 0, or -1 on error.
    int (*netdev_send)(void* self, const void* buf, size_t count);
    // The next IP datagram the stack sent, into buf (capacity *count): *count is set to its
    // length (0: none came) and *time_us to when it left. 0, or -1 on error.
    int (*netdev_receive)(void* self, void* buf, size_t* count, long long* time_us);
    int (*usleep)(void* self, useconds_t us);
    int (*gettimeofday)(void* self, timeval* tv, struct timezone* tz);
    int (*epoll_create)(void* self, int size);
    int (*epoll_ctl)(void* self, int epfd, int op, int fd, epoll_event* event);
    int (*epoll_wait)(void* self, int epfd, epoll_event* events, int max_events, int timeout_ms);
    int (*pipe)(void* self, int fds[2]);
    int (*splice)(void* self, int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len,
                  unsigned int flags);
};

// The one symbol packetdrill looks up: fills `table` (flags: its --so_flags, may be null).
using interface_init = void (*)(const char* flags, interface_table* table);

} // extern "C"

} // namespace coronet::packetdrill
