// The script's side of the simulation: its packets in and out, its clock, and epoll.
#include "tests/conformance/packetdrill/adapter.hpp"

#include <cstring>

namespace coronet::packetdrill {

namespace {
long long to_micros(time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.since_epoch).count() +
           adapter::epoch_seconds * 1'000'000;
}
} // namespace

result<int> adapter::netdev_send(const void* buf, std::size_t count) {
    if (buf == nullptr) return error{EFAULT};
    const auto bytes = std::span(static_cast<const std::byte*>(buf), count);
    auto r = sim_.run([&](simulation::world& w) { return w.card.inject(bytes); });
    if (!r) return error{r.error()};
    return 0;
}

result<int> adapter::netdev_receive(void* buf, std::size_t* count, long long* time_us) {
    if (buf == nullptr || count == nullptr || time_us == nullptr) return error{EFAULT};
    auto d = sim_.run([&](simulation::world& w) -> std::optional<datagram> {
        const auto horizon = w.clock.now() + sniff_horizon;
        while (w.card.sent.empty() && simulation::step(w, horizon)) {
        }
        if (w.card.sent.empty()) return std::nullopt;
        auto out = std::move(w.card.sent.front());
        w.card.sent.pop_front();
        return out;
    });
    if (!d) { // nothing left within the horizon: packetdrill reports the packet it expected
        *count = 0;
        return 0;
    }
    if (d->bytes.size() > *count) return error{EMSGSIZE};
    std::memcpy(buf, d->bytes.data(), d->bytes.size());
    *count = d->bytes.size();
    *time_us = to_micros(d->left);
    return 0;
}

result<int> adapter::usleep(unsigned us) {
    sim_.sleep_for(std::chrono::microseconds(us));
    return 0;
}

result<int> adapter::gettimeofday(timeval* tv) {
    if (tv == nullptr) return error{EFAULT};
    const long long now = sim_.run([](simulation::world& w) {
        simulation::advance_to(w, w.clock.now() + clock_read_cost);
        return to_micros(w.clock.now());
    });
    sim_.clock_read(); // packetdrill's syscall thread, after a blocking call: its end time
    tv->tv_sec = static_cast<time_t>(now / 1'000'000);
    tv->tv_usec = static_cast<suseconds_t>(now % 1'000'000);
    return 0;
}

result<int> adapter::epoll_create(int size) {
    if (size <= 0) return error{EINVAL};
    return insert(descriptor{.h = {}, .stream = false, .is_epoll = true, .members = {}});
}

result<int> adapter::epoll_ctl(int epfd, int op, int fd, const epoll_event* event) {
    std::lock_guard l(fds_m_);
    auto set = fds_.find(epfd);
    auto target = fds_.find(fd);
    if (set == fds_.end() || target == fds_.end()) return error{EBADF};
    if (!set->second.is_epoll || epfd == fd) return error{EINVAL};
    if (target->second.is_epoll) return error{EPERM}; // nested sets: not served
    auto& members = set->second.members;
    const bool present = members.contains(fd);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (present) return error{EEXIST};
        [[fallthrough]];
    case EPOLL_CTL_MOD:
        if (!present && op == EPOLL_CTL_MOD) return error{ENOENT};
        if (event == nullptr) return error{EFAULT};
        members[fd] = epoll_member{.events = event->events, .data = event->data};
        return 0;
    case EPOLL_CTL_DEL:
        if (!present) return error{ENOENT};
        members.erase(fd);
        return 0;
    default:
        return error{EINVAL};
    }
}

result<int> adapter::epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms) {
    if (max_events <= 0 || events == nullptr) return error{EINVAL};
    auto set = find(epfd);
    if (!set) return error{set.error()};
    if (!set->is_epoll) return error{EINVAL};
    // Readiness in poll's terms; EPOLLIN == POLLIN and so on for the bits both have.
    auto scan = [&](simulation::world& w) {
        std::lock_guard l(fds_m_);
        auto it = fds_.find(epfd);
        if (it == fds_.end()) return 0;
        int n = 0;
        for (auto& [fd, m] : it->second.members) {
            auto target = fds_.find(fd);
            if (target == fds_.end() || n == max_events) continue;
            const auto ready = static_cast<std::uint32_t>(readiness(w, target->second)) &
                               (m.events | EPOLLERR | EPOLLHUP);
            // Edge-triggered: only after something became ready or new data came.
            const auto arrived = arrivals(w, target->second);
            const bool edge =
                (ready & ~m.reported) != 0 || ((ready & EPOLLIN) && arrived != m.arrived);
            const auto report = !(m.events & EPOLLET) || edge ? ready : 0;
            m.reported = ready;
            m.arrived = arrived;
            if (report == 0) continue;
            events[n].events = report;
            events[n].data = m.data;
            ++n;
            if (m.events & EPOLLONESHOT) m.events &= EPOLLET | EPOLLONESHOT; // disarmed until MOD
        }
        return n;
    };
    return wait_ready(timeout_ms, scan);
}

} // namespace coronet::packetdrill
