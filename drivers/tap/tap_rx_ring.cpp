#include "drivers/tap/tap_rx_ring.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

namespace coronet {

namespace {

// Errors after which the descriptor will never read again (the device is gone).
bool fatal(int err) noexcept {
    return err == EBADF || err == EBADFD || err == ENODEV || err == ENXIO || err == EIO;
}

} // namespace

tap_rx_ring::tap_rx_ring(uring::uring_reactor& reactor, int fd, buffer_pool& pool, const options& o,
                         counters c, notify on_ready, void* context)
    : reactor_(reactor), pool_(pool), fd_(fd), count_(o.count), stats_(c), on_ready_(on_ready),
      context_(context), ring_(make_ring(reactor, pool, o)),
      read_(reactor, fd, *ring_, &on_read, this), discard_(*this, &on_discard),
      cancel_(*this, &on_cancel), scratch_(std::make_unique<std::byte[]>(o.scratch_bytes)),
      scratch_bytes_(o.scratch_bytes), fifo_(std::make_unique<uring::selected_buffer[]>(o.count)) {
    read_.set_background(true);
    read_.prefer_multishot(o.multishot);
    discard_.set_background(true);
    cancel_.set_background(true);
    cancel_.set_urgent(true);
    pool_.on_release([this](std::uint32_t index) { buffer_released(index); });
}

std::unique_ptr<uring::provided_buffer_ring>
tap_rx_ring::make_ring(uring::uring_reactor& reactor, buffer_pool& pool, const options& o) {
    // A fresh pool lends its buffers in index order, which is the order the ring numbers
    // them in: buffer id == pool index.
    auto give_back = [&pool](unsigned n) {
        for (unsigned i = 0; i < n; ++i)
            pool.recycle(i);
    };
    for (unsigned i = 0; i < o.count; ++i) {
        auto lent = pool.lend();
        if (!lent || *lent != i) {
            if (lent) pool.recycle(*lent);
            give_back(i);
            throw std::invalid_argument(
                "coronet: a TAP NIC posts its pool's first " + std::to_string(o.count) +
                " buffers for receive, and they are not all free: give the NIC a pool of its "
                "own, made for it");
        }
    }
    try {
        auto region = pool.region();
        if (o.group)
            return std::make_unique<uring::provided_buffer_ring>(reactor, *o.group, region,
                                                                 pool.buffer_size(), o.count);
        for (unsigned g = 0x100;; ++g) {
            try {
                return std::make_unique<uring::provided_buffer_ring>(
                    reactor, static_cast<std::uint16_t>(g), region, pool.buffer_size(), o.count);
            } catch (const std::system_error& e) {
                if (e.code().value() != EEXIST || g == 0xffff) throw;
            }
        }
    } catch (...) {
        give_back(o.count);
        throw;
    }
}

tap_rx_ring::~tap_rx_ring() {
    if (!idle()) {
        // The kernel would write into freed memory: a bug in the owner, caught here.
        std::fputs(
            "coronet: tap_rx_ring destroyed while the kernel still holds a read (stop it first)\n",
            stderr);
        std::abort();
    }
    pool_.on_release({});
    ring_.reset();
    // What is still lent (posted, or filled and never polled) goes back to the free stack;
    // buffers that packets hold go there when released, the hook being gone.
    for (std::uint32_t i = 0; i < count_; ++i)
        if (pool_.use_count(i) == 0) pool_.recycle(i);
}

void tap_rx_ring::start() {
    stopping_ = false;
    dead_ = false;
    read_.start();
}

void tap_rx_ring::stop() {
    stopping_ = true;
    read_.stop();
    if (reactor_.withdraw(discard_)) return;
    if (discard_.in_flight() && !cancel_.in_flight() && !cancel_.queued()) {
        io_uring_prep_cancel64(cancel_.sqe(), discard_.user_data(), 0);
        reactor_.submit(cancel_);
    }
}

bool tap_rx_ring::idle() const noexcept {
    return read_.idle() && !discard_.in_flight() && !discard_.queued() && !cancel_.in_flight() &&
           !cancel_.queued();
}

std::optional<uring::selected_buffer> tap_rx_ring::pop() noexcept {
    if (fifo_count_ == 0) return std::nullopt;
    auto b = fifo_[fifo_head_];
    fifo_head_ = (fifo_head_ + 1) % count_;
    --fifo_count_;
    return b;
}

void tap_rx_ring::on_read(uring::standing_read& rd, result<uring::selected_buffer> res, bool more) {
    auto& self = *static_cast<tap_rx_ring*>(rd.context());
    if (res && res->size > 0) {
        ++self.taken_;
        self.fifo_[(self.fifo_head_ + self.fifo_count_) % self.count_] = *res;
        ++self.fifo_count_;
        self.on_ready_(self.context_);
    }
    if (!more) self.ended(res ? 0 : res.error());
}

// The standing read ended: running dry, an error, or stop().
void tap_rx_ring::ended(int err) {
    if (stopping_) return;
    if (err == ENOBUFS) {
        if (posted() > 0) { // a buffer came back meanwhile
            read_.start();
            return;
        }
        dry_ = true;
        refill_signalled_ = false;
        arm_discard();
        return;
    }
    if (err != 0 && err != ECANCELED) {
        ++stats_.errors;
        if (fatal(err)) {
            dead_ = true;
            return;
        }
    }
    read_.start(); // an error that concerned one frame, or the kernel ended a multishot read
}

void tap_rx_ring::arm_discard() {
    io_uring_prep_read(discard_.sqe(), fd_, scratch_.get(), static_cast<unsigned>(scratch_bytes_),
                       ~std::uint64_t{0});
    reactor_.submit(discard_);
}

void tap_rx_ring::on_discard(uring::io_completion* c, int res, std::uint32_t) {
    auto& self = static_cast<owned_request&>(*c).owner;
    if (res > 0) {
        ++self.stats_.dropped_no_buffer;
    } else if (res < 0 && res != -ECANCELED) {
        ++self.stats_.errors;
        if (fatal(-res)) {
            self.dead_ = true;
            return;
        }
    }
    if (self.stopping_) return;
    if (self.posted() > 0)
        self.resume();
    else
        self.arm_discard();
}

void tap_rx_ring::resume() {
    dry_ = false;
    ++stats_.restarts;
    read_.start();
}

void tap_rx_ring::refill() {
    if (!dry_ || stopping_ || dead_ || posted() == 0) return;
    if (reactor_.withdraw(discard_)) { // never reached the kernel
        resume();
        return;
    }
    if (discard_.in_flight() && !cancel_.in_flight() && !cancel_.queued()) {
        io_uring_prep_cancel64(cancel_.sqe(), discard_.user_data(), 0);
        reactor_.submit(cancel_);
    }
}

void tap_rx_ring::buffer_released(std::uint32_t index) noexcept {
    if (index >= count_) { // not a receive buffer (a frame built from this pool): freed
        pool_.recycle(index);
        return;
    }
    ring_->recycle(static_cast<std::uint16_t>(index));
    if (dry_ && !refill_signalled_) {
        refill_signalled_ = true;
        on_ready_(context_);
    }
}

} // namespace coronet
