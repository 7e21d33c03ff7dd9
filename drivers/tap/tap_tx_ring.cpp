#include "drivers/tap/tap_tx_ring.hpp"

#include <cstdio>
#include <cstdlib>

namespace coronet {

tap_tx_ring::tap_tx_ring(uring::uring_reactor& reactor, int fd, unsigned slots, unsigned max_slices,
                         counters c, notify on_space, void* context)
    : reactor_(reactor), fd_(fd), slots_count_(slots), max_slices_(max_slices), stats_(c),
      on_space_(on_space), context_(context), slots_(std::make_unique<slot[]>(slots)),
      iovecs_(std::make_unique<iovec[]>(std::size_t{slots} * (1 + max_slices))),
      free_(std::make_unique<std::uint32_t[]>(slots)) {
    for (unsigned i = 0; i < slots; ++i) {
        slot& s = slots_[i];
        s.owner = this;
        s.index = i;
        s.iov = &iovecs_[std::size_t{i} * (1 + max_slices)];
        free_[free_top_++] = slots - 1 - i; // slot 0 on top
    }
}

tap_tx_ring::~tap_tx_ring() {
    if (!idle()) {
        std::fputs("coronet: tap_tx_ring destroyed with writes in flight (wait for them first)\n",
                   stderr);
        std::abort();
    }
}

result<> tap_tx_ring::send(packet&& frame) {
    if (frame.slice_count() > max_slices_) {
        ++stats_.too_many_slices;
        return error{EMSGSIZE};
    }
    if (free_top_ == 0) {
        full_ = true;
        return error{ENOBUFS};
    }
    slot& s = slots_[free_[--free_top_]];
    s.header = to_vnet_header(frame.meta().offload);
    if (is_offload_frame(frame.meta().offload)) ++stats_.offload_frames;
    s.iov[0] = {&s.header, vnet_header_bytes};
    unsigned n = 1;
    for (auto bytes : frame.slices()) {
        if (bytes.empty()) continue; // an empty head slice kept for headroom
        // writev only reads through these: the cast drops const for the iovec's sake.
        s.iov[n++] = {const_cast<std::byte*>(bytes.data()), bytes.size()};
    }
    s.bytes = static_cast<std::uint32_t>(vnet_header_bytes + frame.length());
    s.frame = std::move(frame);
    io_uring_prep_writev(s.sqe(), fd_, s.iov, n, ~std::uint64_t{0});
    reactor_.submit(s);
    return {};
}

void tap_tx_ring::on_written(uring::io_completion* c, int res, std::uint32_t) {
    auto& s = static_cast<slot&>(*c);
    tap_tx_ring& self = *s.owner;
    if (res < 0)
        ++self.stats_.errors;
    else if (static_cast<std::uint32_t>(res) < s.bytes)
        ++self.stats_.short_writes;
    s.frame.reset(); // the transmit interrupt: the buffers go back
    self.free_[self.free_top_++] = s.index;
    if (self.full_) {
        self.full_ = false;
        self.on_space_(self.context_);
    }
}

} // namespace coronet
