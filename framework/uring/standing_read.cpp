#include "framework/uring/standing_read.hpp"

#include <cstdio>
#include <cstdlib>

namespace coronet::uring {

standing_read::standing_read(uring_reactor& reactor, int fd, provided_buffer_ring& ring, handler on_data,
                             void* context) noexcept
    : reactor_(reactor), ring_(ring), on_data_(on_data), context_(context), read_(*this), cancel_(&on_cancel_cqe),
      fd_(fd), multishot_(reactor.supports_multishot_read()) {
    cancel_.set_urgent(true);
}

standing_read::~standing_read() {
    if (!idle()) {
        // The kernel would complete into freed memory: a bug in the owner, caught here.
        std::fputs("coronet: standing_read destroyed while the kernel still holds it (stop it first)\n", stderr);
        std::abort();
    }
}

void standing_read::set_background(bool on) noexcept {
    read_.set_background(on);
    cancel_.set_background(on);
}

bool standing_read::idle() const noexcept {
    return !read_.in_flight() && !read_.queued() && !cancel_.in_flight() && !cancel_.queued();
}

void standing_read::start() {
    if (active_) return;
    active_ = true;
    stopping_ = false;
    arm();
}

void standing_read::arm() {
    if (multishot_) {
        io_uring_prep_read_multishot(read_.sqe(), fd_, 0, 0, ring_.group());
    } else {
        io_uring_prep_read(read_.sqe(), fd_, nullptr, static_cast<unsigned>(ring_.buffer_size()), ~std::uint64_t{0});
        read_.sqe()->flags |= IOSQE_BUFFER_SELECT;
        read_.sqe()->buf_group = ring_.group();
    }
    reactor_.submit(read_);
}

void standing_read::stop() {
    if (!active_ || stopping_) return;
    stopping_ = true;
    if (reactor_.withdraw(read_)) {
        active_ = false;
        on_data_(*this, error{ECANCELED}, false);
        return;
    }
    io_uring_prep_cancel64(cancel_.sqe(), read_.user_data(), 0);
    reactor_.submit(cancel_);
}

void standing_read::on_read_cqe(io_completion* c, int res, std::uint32_t flags) {
    standing_read& self = static_cast<read_request&>(*c).owner;
    auto id = provided_buffer_ring::buffer_id(flags);
    bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (!self.multishot_ && res > 0 && !self.stopping_) {
        self.arm(); // re-armed before the handler runs, as a multishot read would be
        more = true;
    }
    if (!more) {
        self.active_ = false;
        self.reactor_.withdraw(self.cancel_); // nothing left for a queued cancel to end
    }
    if (res < 0) {
        if (id) self.ring_.recycle(*id);
        self.on_data_(self, error{-res}, more);
    } else if (!id) {
        self.on_data_(self, selected_buffer{}, more); // end of file: no buffer consumed
    } else {
        self.on_data_(self, selected_buffer{*id, static_cast<std::uint32_t>(res)}, more);
    }
}

} // namespace coronet::uring
