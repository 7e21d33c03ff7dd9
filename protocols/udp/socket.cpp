#include "protocols/udp/socket.hpp"

#include "protocols/checksum/checksum.hpp"
#include "protocols/udp/layer.hpp"
#include "protocols/udp/wire.hpp"

#include <algorithm>

namespace coronet::udp {

namespace {
// The largest payload in one IPv4 datagram: 65535 - 20 (IP header) - 8 (UDP header).
constexpr std::size_t max_datagram_payload = 65507;
} // namespace

socket::socket(layer& l) noexcept
    : layer_(&l), receive_buffer_(l.opts().receive_buffer),
      charge_(l.net().memory(), queue_kind::udp_receive) {}

socket::~socket() {
    if (layer_ != nullptr) layer_->unbind(*this);
}

result<> socket::bind(const endpoint& local) {
    if (layer_ == nullptr) return error{ENETDOWN};
    if (bound_) return error{EINVAL};
    return layer_->bind(*this, local);
}

task<result<>> socket::connect(const endpoint& remote) {
    if (layer_ == nullptr) co_return error{ENETDOWN};
    if (remote.port.value() == 0 || remote.address.is_any()) co_return error{EINVAL};
    // Connecting fixes the local address too: the one the route to the peer leaves from.
    auto source = layer_->net().source_for(remote.address);
    if (!source) co_return error{source.error()};
    if (!bound_) {
        if (auto r = layer_->bind(*this, {ipv4_any, 0}); !r) co_return r;
    }
    peer_ = remote;
    connected_ = true;
    co_return result<>{};
}

result<std::size_t> socket::send(std::span<const std::byte> bytes, const endpoint& to) {
    if (layer_ == nullptr) return error{ENETDOWN};
    if (closed_) return error{EBADF};
    if (int e = take_error()) return error{e};
    if (bytes.size() > max_datagram_payload) return error{EMSGSIZE};
    if (to.port.value() == 0 || to.address.is_any()) return error{EINVAL};
    network& net = layer_->net();
    ipv4_address source = local_.address;
    if (source.is_any()) {
        auto s = net.source_for(to.address);
        if (!s) return error{s.error()};
        source = *s;
    }
    if (!bound_) {
        if (auto r = layer_->bind(*this, {ipv4_any, 0}); !r) return error{r.error()};
    }
    auto p = packet::allocate(net.pool());
    if (!p) return error{p.error()};
    if (auto r = p->append(bytes, layer_->stats().bytes_copied_in); !r) return error{r.error()};
    checksum::partial payload_sum;
    for (auto s : p->slices())
        payload_sum.add(s);
    auto h = p->push_header(header_length);
    if (!h) return error{h.error()};
    emit_header(repr{local_.port, to.port, static_cast<std::uint16_t>(bytes.size())}, *h,
                {source, to.address}, payload_sum.sum());
    if (auto r = net.output(std::move(*p), source, to.address); !r) {
        ++layer_->stats().send_errors;
        return error{r.error()};
    }
    ++layer_->stats().out_datagrams;
    return bytes.size();
}

task<result<std::size_t>> socket::send_to(std::span<const std::byte> bytes, const endpoint& to) {
    co_return send(bytes, to);
}

task<result<std::size_t>> socket::write(std::span<const std::byte> bytes) {
    if (!connected_) co_return error{EDESTADDRREQ};
    co_return send(bytes, peer_);
}

result<datagram_info> socket::try_receive(std::span<std::byte> buffer) {
    if (layer_ == nullptr) return error{ENETDOWN};
    if (closed_) return error{EBADF};
    if (queue_.empty()) {
        if (int e = take_error()) return error{e};
        return error{EAGAIN};
    }
    datagram& d = queue_.front();
    const std::size_t length = d.payload.length();
    const std::size_t n = std::min(length, buffer.size());
    (void)d.payload.copy_out(0, buffer.first(n), layer_->stats().bytes_copied_out);
    datagram_info info{n, d.from, n < length};
    dequeued(d);
    queue_.pop_front();
    return info;
}

task<result<datagram_info>> socket::receive(std::span<std::byte> buffer) {
    for (;;) {
        auto r = try_receive(buffer);
        if (r || r.error() != EAGAIN || non_blocking_) co_return r;
        if (auto w = co_await readable_.wait(); !w) co_return error{w.error()};
    }
}

task<result<datagram_info>> socket::recv_from(std::span<std::byte> buffer) {
    co_return co_await receive(buffer);
}

task<result<std::size_t>> socket::read(std::span<std::byte> buffer) {
    auto r = co_await receive(buffer);
    if (!r) co_return error{r.error()};
    co_return r->size;
}

result<endpoint> socket::local_endpoint() const {
    if (layer_ == nullptr) return error{ENETDOWN};
    return local_; // 0.0.0.0:0 before bind, as getsockname says
}

result<endpoint> socket::peer_endpoint() const {
    if (!connected_) return error{ENOTCONN};
    return peer_;
}

result<> socket::set_option(socket_option opt, std::int64_t value) {
    switch (opt) {
    case socket_option::receive_buffer:
        if (value <= 0) return error{EINVAL};
        receive_buffer_ = static_cast<std::size_t>(value);
        return {};
    case socket_option::non_blocking:
        non_blocking_ = value != 0;
        return {};
    case socket_option::reuse_port: // one stack per shard: no port to share (socket.hpp)
        reuse_port_ = value != 0;
        return {};
    default:
        return error{ENOPROTOOPT};
    }
}

result<std::int64_t> socket::get_option(socket_option opt) const {
    switch (opt) {
    case socket_option::receive_buffer:
        return static_cast<std::int64_t>(receive_buffer_);
    case socket_option::non_blocking:
        return std::int64_t{non_blocking_ ? 1 : 0};
    case socket_option::reuse_port:
        return std::int64_t{reuse_port_ ? 1 : 0};
    default:
        return error{ENOPROTOOPT};
    }
}

bool socket::enqueue(packet&& payload, const endpoint& from) {
    if (closed_) return false;
    const std::uint32_t buffers = buffers_pinned(payload);
    const std::size_t buffer_size = layer_->net().pool().buffer_size();
    const std::size_t truesize = std::size_t{charge_.held()} * buffer_size;
    // The first datagram is always taken (as the byte limit always took one), however big.
    if (!queue_.empty() && (truesize + std::size_t{buffers} * buffer_size > receive_buffer_ ||
                            !charge_.may_grow(buffers))) { // the queue, or the host, is full
        ++drops_;
        return false;
    }
    queued_bytes_ += payload.length();
    queue_.push_back(datagram{std::move(payload), from, buffers});
    charge_.set(charge_.held() + buffers);
    readable_.wake_one();
    return true;
}

void socket::dequeued(const datagram& d) noexcept {
    queued_bytes_ -= d.payload.length();
    charge_.set(charge_.held() - d.buffers);
}

void socket::discard_front() noexcept {
    if (queue_.empty()) return;
    dequeued(queue_.front());
    queue_.pop_front();
}

void socket::set_error(int err) noexcept {
    pending_error_ = err;
    readable_.wake_all();
}

void socket::detach() noexcept {
    if (layer_ == nullptr) return;
    layer_->unbind(*this);
    unlink();
    charge_ = memory_charge(); // the budget goes with the stack
    layer_ = nullptr;
    queue_.clear();
    queued_bytes_ = 0;
    charge_.set(0);
    readable_.wake_all();
}

void socket::on_last_handle_closed() noexcept {
    closed_ = true;
    if (layer_ != nullptr) layer_->unbind(*this); // closing the last handle frees the port
    queue_.clear();
    queued_bytes_ = 0;
    charge_.set(0);
    readable_.wake_all();
}

} // namespace coronet::udp
