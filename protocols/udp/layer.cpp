#include "protocols/udp/layer.hpp"

#include "protocols/checksum/checksum.hpp"
#include "protocols/udp/wire.hpp"

#include <algorithm>
#include <array>

namespace coronet::udp {

layer::layer(network& net, counters& stats, options opts)
    : net_(net), stats_(stats), opts_(opts), rng_(opts.seed) {}

layer::~layer() {
    while (!sockets_.empty())
        sockets_.front().detach(); // unlinks itself
}

result<ref<socket_object>> layer::open() {
    auto s = make_object<socket>(*this);
    sockets_.push_back(*s);
    return ref<socket_object>(std::move(s));
}

input_result layer::input(packet& datagram, ipv4_address source, ipv4_address destination,
                          bool checksum_valid) {
    std::array<std::byte, header_length> copy;
    std::span<const std::byte> head;
    if (auto f = datagram.front(header_length)) {
        head = *f;
    } else if (datagram.copy_out(0, copy)) { // a header across slices: reassembled
        head = copy;
    } else {
        ++stats_.in_errors;
        return input_result::dropped;
    }
    const auto h = view::unchecked(head);
    const std::size_t length = h.length();
    if (length < header_length || length > datagram.length()) {
        ++stats_.in_errors;
        return input_result::dropped;
    }
    datagram.trim(length);
    // RFC 768: a zero checksum field means the sender computed none. Otherwise the
    // pseudo-header, header and data sum to all ones.
    if (h.checksum() != 0 && !checksum_valid) {
        checksum::partial sum(checksum::pseudo_header_sum(source, destination, ip_protocol,
                                                          static_cast<std::uint16_t>(length)));
        for (auto s : datagram.slices())
            sum.add(s);
        if (sum.sum() != 0xffff) {
            ++stats_.in_csum_errors;
            ++stats_.in_errors;
            return input_result::dropped;
        }
    }
    const endpoint from{source, h.source_port()};
    socket* s = lookup({destination, h.destination_port()}, from);
    if (s == nullptr) {
        ++stats_.no_ports;
        return input_result::no_port;
    }
    (void)datagram.pull_header(header_length);
    if (!s->enqueue(std::move(datagram), from)) {
        ++stats_.rcvbuf_errors;
        ++stats_.in_errors;
        return input_result::dropped;
    }
    ++stats_.in_datagrams;
    return input_result::delivered;
}

socket* layer::lookup(const endpoint& local, const endpoint& remote) const noexcept {
    const auto* bucket = ports_.find(local.port.value());
    if (bucket == nullptr) return nullptr;
    socket* best = nullptr;
    int best_score = -1;
    for (socket* s : *bucket) {
        int score = 0;
        if (!s->local().address.is_any()) {
            if (s->local().address != local.address) continue;
            score += 2;
        }
        if (s->connected()) {
            if (s->peer() != remote) continue;
            score += 4;
        }
        if (score > best_score) {
            best = s;
            best_score = score;
        }
    }
    return best;
}

void layer::report_error(const endpoint& local, const endpoint& remote, int err,
                         bool connected_only) {
    auto* bucket = ports_.find(local.port.value());
    if (bucket == nullptr) return;
    for (socket* s : *bucket) {
        if (!s->local().address.is_any() && s->local().address != local.address) continue;
        if (connected_only && !(s->connected() && s->peer() == remote)) continue;
        s->set_error(err);
    }
}

result<> layer::bind(socket& s, endpoint local) {
    if (!local.address.is_any() && !net_.is_local(local.address)) return error{EADDRNOTAVAIL};
    if (local.port.value() == 0) {
        // RFC 6056 §3.3.1 (algorithm 1): a random start, then the next free port.
        const std::uint32_t first = opts_.ephemeral_first;
        const std::uint32_t span = std::uint32_t{opts_.ephemeral_last} - first + 1;
        const std::uint32_t start = static_cast<std::uint32_t>(rng_() % span);
        for (std::uint32_t i = 0; i < span; ++i) {
            const auto candidate = static_cast<std::uint16_t>(first + (start + i) % span);
            if (!ports_.contains(candidate)) {
                local.port = candidate;
                break;
            }
        }
        if (local.port.value() == 0) return error{EADDRINUSE};
    } else if (const auto* bucket = ports_.find(local.port.value())) {
        // Two sockets conflict when their addresses are equal or either is the wildcard.
        for (socket* other : *bucket)
            if (other->local().address.is_any() || local.address.is_any() ||
                other->local().address == local.address)
                return error{EADDRINUSE};
    }
    ports_.get_or_add(local.port.value()).push_back(&s);
    s.local_ = local;
    s.bound_ = true;
    return {};
}

std::vector<const socket*> layer::bound_sockets() const {
    std::vector<const socket*> out;
    for (const socket& s : sockets_)
        if (s.bound()) out.push_back(&s); // closing the last handle unbinds
    std::stable_sort(out.begin(), out.end(), [](const socket* a, const socket* b) {
        return a->local().port.value() < b->local().port.value();
    });
    return out;
}

void layer::unbind(socket& s) noexcept {
    if (!s.bound_) return;
    s.bound_ = false;
    auto* bucket = ports_.find(s.local_.port.value());
    if (bucket == nullptr) return;
    std::erase(*bucket, &s);
    if (bucket->empty()) ports_.erase(s.local_.port.value());
}

} // namespace coronet::udp
