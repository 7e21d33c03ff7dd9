#pragma once
// The liburing helpers that Debian's liburing 2.3 lacks although the kernel has the feature
// (provided-buffer rings set up in one call, multishot read). Each is compiled only when
// the installed liburing does not provide it (see cmake/coronet_uring_features.cmake),
// with liburing's own name and signature, so code calls the one name either way and the
// shim disappears when liburing catches up.
#include "framework/uring_features.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <liburing.h>
#include <sys/mman.h>

// Setup flags newer than the header (values from the kernel's uapi io_uring.h).
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
// Zero-copy send (kernel 6.2): ask the notification to say whether the kernel copied after
// all (it does for a peer on this host), and the bit that says so.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1U << 2)
#endif

namespace coronet::uring {

// IORING_OP_READ_MULTISHOT is an enum constant in newer headers (kernel 6.7); 2.3's header
// stops at IORING_OP_SENDMSG_ZC (48).
#if CORONET_HAVE_OP_READ_MULTISHOT
inline constexpr int op_read_multishot = IORING_OP_READ_MULTISHOT;
#else
inline constexpr int op_read_multishot = 49;
#endif

} // namespace coronet::uring

#if !CORONET_HAVE_SETUP_BUF_RING
// Maps the ring's memory, registers it as buffer group `bgid` and empties it. On failure
// returns null with -errno in *ret.
inline io_uring_buf_ring* io_uring_setup_buf_ring(io_uring* ring, unsigned int nentries, int bgid,
                                                  unsigned int flags, int* ret) {
    std::size_t size = nentries * sizeof(io_uring_buf);
    void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) {
        *ret = -errno;
        return nullptr;
    }
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg;
    std::memset(&reg, 0, sizeof reg);
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br);
    reg.ring_entries = nentries;
    reg.bgid = static_cast<std::uint16_t>(bgid);
    int r = io_uring_register_buf_ring(ring, &reg, flags);
    if (r != 0) {
        munmap(mem, size);
        *ret = r;
        return nullptr;
    }
    io_uring_buf_ring_init(br);
    *ret = 0;
    return br;
}

inline int io_uring_free_buf_ring(io_uring* ring, io_uring_buf_ring* br, unsigned int nentries, int bgid) {
    int r = io_uring_unregister_buf_ring(ring, bgid);
    if (r != 0) return r;
    munmap(br, nentries * sizeof(io_uring_buf));
    return 0;
}
#endif

#if !CORONET_HAVE_PREP_READ_MULTISHOT
// A read that stays armed: each time data arrives it picks a buffer from group
// `buf_group` and posts a completion flagged IORING_CQE_F_MORE while it remains armed.
inline void io_uring_prep_read_multishot(io_uring_sqe* sqe, int fd, unsigned nbytes, __u64 offset, int buf_group) {
    io_uring_prep_rw(coronet::uring::op_read_multishot, sqe, fd, nullptr, nbytes, offset);
    sqe->buf_group = static_cast<__u16>(buf_group);
    sqe->flags = IOSQE_BUFFER_SELECT;
}
#endif
