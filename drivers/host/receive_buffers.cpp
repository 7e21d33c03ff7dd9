#include "drivers/host/receive_buffers.hpp"

#include <stdexcept>
#include <system_error>

namespace coronet::host {

namespace {

buffer_pool_options pool_options(std::uint32_t count, std::uint32_t size) {
    if (count == 0 || count > 32768)
        throw std::invalid_argument("coronet: host_options.receive_buffers must be 1 to 32768");
    buffer_pool_options o;
    o.buffer_count = count;
    o.buffer_size = size; // the pool checks it: a non-zero multiple of 64
    o.slice_count = count;
    o.reserve = 0; // nothing here is for control traffic: every buffer is the ring's
    return o;
}

// Buffer groups 0x100.. are the TAP NICs' (tap_rx_ring); the host stack takes its own range.
constexpr unsigned first_group = 0x8000;

} // namespace

receive_buffers::receive_buffers(uring::uring_reactor& reactor, std::uint32_t count, std::uint32_t size)
    : pool_(pool_options(count, size)), count_(count) {
    // A fresh pool lends its buffers in index order, the order the ring numbers them in:
    // buffer id == pool index.
    for (std::uint32_t i = 0; i < count; ++i)
        (void)pool_.lend(); // cannot fail: the pool was made with exactly count buffers
    auto give_back = [this] {
        for (std::uint32_t i = 0; i < count_; ++i)
            pool_.recycle(i);
    };
    try {
        for (unsigned g = first_group;; ++g) {
            try {
                ring_ = std::make_unique<uring::provided_buffer_ring>(
                    reactor, static_cast<std::uint16_t>(g), pool_.region(), pool_.buffer_size(), count);
                break;
            } catch (const std::system_error& e) {
                if (e.code().value() != EEXIST || g == 0xffff) throw;
            }
        }
    } catch (...) {
        give_back();
        throw;
    }
    pool_.on_release([this](std::uint32_t index) { released(index); });
}

receive_buffers::~receive_buffers() {
    pool_.on_release({});
    ring_.reset();
    for (std::uint32_t i = 0; i < count_; ++i)
        if (pool_.use_count(i) == 0) pool_.recycle(i); // posted: lent to the ring
}

result<packet> receive_buffers::lend(uring::selected_buffer b) {
    buffer_ref buf = pool_.adopt(b.id);
    return packet::wrap(buf, 0, b.size); // on failure buf's release posts it back
}

void receive_buffers::released(std::uint32_t index) noexcept {
    ring_->recycle(static_cast<std::uint16_t>(index));
    if (!returned_.empty()) returned_.wake_all(); // each retries; whoever finds none waits again
}

} // namespace coronet::host
