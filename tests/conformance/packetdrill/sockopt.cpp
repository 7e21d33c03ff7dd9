// getsockopt/setsockopt: Linux's option names mapped to coronet's socket options, TCP_INFO
// from the tcp_info system call (in today's Linux layout), SO_ERROR from the TCB's pending
// error. ENOPROTOOPT for what coronet lacks.
#include "protocols/tcp/socket.hpp"
#include "tests/conformance/packetdrill/adapter.hpp"
#include "tests/conformance/packetdrill/linux_tcp_info.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <sys/time.h>

namespace coronet::packetdrill {

namespace {

std::optional<socket_option> integer_option(int level, int name) {
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_KEEPALIVE:
            return socket_option::keep_alive;
        case SO_SNDBUF:
            return socket_option::send_buffer;
        case SO_RCVBUF:
            return socket_option::receive_buffer;
        case SO_REUSEADDR:
            return socket_option::reuse_address;
        case SO_REUSEPORT:
            return socket_option::reuse_port;
        default:
            return std::nullopt;
        }
    }
    if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY:
            return socket_option::no_delay;
        case TCP_KEEPIDLE:
            return socket_option::keep_idle;
        case TCP_KEEPINTVL:
            return socket_option::keep_interval;
        case TCP_KEEPCNT:
            return socket_option::keep_count;
        case TCP_USER_TIMEOUT:
            return socket_option::user_timeout;
        case TCP_CORK:
            return socket_option::cork;
        case TCP_NOTSENT_LOWAT:
            return socket_option::not_sent_low_water;
        default:
            return std::nullopt;
        }
    }
    return std::nullopt;
}

tcp::socket* tcb(simulation::world& w, handle h) {
    auto s = w.app->handles().lookup_as<socket_object>(h, access_mask{});
    return s ? dynamic_cast<tcp::socket*>(*s) : nullptr;
}

// SO_RCVTIMEO / SO_SNDTIMEO: Linux's timeval, coronet's milliseconds (0 none).
std::optional<socket_option> timeout_option(int level, int name) {
    if (level != SOL_SOCKET) return std::nullopt;
    if (name == SO_RCVTIMEO) return socket_option::receive_timeout;
    if (name == SO_SNDTIMEO) return socket_option::send_timeout;
    return std::nullopt;
}

// Linux's sock_set_timeout: EDOM for microseconds outside [0, 1 s); {0, 0} and a time
// beyond the option's range are no timeout; a part millisecond counts whole, so that a
// timeout never becomes none. A negative tv_sec, which Linux takes as "do not wait", has no
// counterpart in coronet's option (0 is none): EINVAL.
result<std::int64_t> timeout_ms(const void* value, socklen_t len) {
    if (len < static_cast<socklen_t>(sizeof(timeval))) return error{EINVAL};
    timeval tv{};
    std::memcpy(&tv, value, sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1'000'000) return error{EDOM};
    if (tv.tv_sec < 0) return error{EINVAL};
    if (tv.tv_sec >= INT32_MAX / 1000) return 0;
    return std::int64_t{tv.tv_sec} * 1000 + (tv.tv_usec + 999) / 1000;
}

template <class T>
result<int> put(const T& v, void* value, socklen_t* len) {
    if (value == nullptr || len == nullptr) return error{EFAULT};
    const auto n = std::min<socklen_t>(*len, sizeof(T));
    std::memcpy(value, &v, n);
    *len = n;
    return 0;
}

} // namespace

result<int> adapter::getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if (d->is_epoll) return error{ENOTSOCK};
    if (len == nullptr || static_cast<int>(*len) < 0) return error{EINVAL};
    const handle h = d->h;
    const bool stream = d->stream;
    if (level == SOL_SOCKET && name == SO_TYPE)
        return put<int>(stream ? SOCK_STREAM : SOCK_DGRAM, value, len);
    if (level == SOL_SOCKET && name == SO_ERROR) {
        const int e = sim_.run([&](simulation::world& w) {
            auto* t = tcb(w, h);
            return t ? t->pending_error() : 0;
        });
        return put<int>(e, value, len);
    }
    if (level == SOL_SOCKET && name == SO_LINGER) {
        auto v = sim_.run([&](simulation::world& w) {
            return w.app->get_socket_option(h, socket_option::linger).get();
        });
        if (!v) return error{v.error()};
        linger l{};
        l.l_onoff = *v >= 0;
        l.l_linger = *v >= 0 ? static_cast<int>(*v) : 0;
        return put(l, value, len);
    }
    if (level == IPPROTO_TCP && (name == TCP_MAXSEG || name == TCP_INFO)) {
        if (!stream) return error{EOPNOTSUPP};
        auto got = sim_.run([&](simulation::world& w) { return w.app->tcp_info(h).get(); });
        if (!got) return error{got.error()};
        if (name == TCP_INFO) return put(to_linux(*got), value, len);
        // Linux's tcp_getsockopt: the MSS in use (536, TCP_MSS_DEFAULT, before a handshake);
        // in CLOSE and LISTEN the TCP_MAXSEG set, if one is.
        auto user = sim_.run([&](simulation::world& w) {
            return w.app->get_socket_option(h, socket_option::max_segment).get();
        });
        const bool idle = got->state == tcp_state::closed || got->state == tcp_state::listen;
        if (user && *user != 0 && idle) return put<int>(static_cast<int>(*user), value, len);
        return put<int>(got->snd_mss != 0 ? static_cast<int>(got->snd_mss) : 536, value, len);
    }
    if (level == IPPROTO_TCP && name == TCP_CC_INFO) {
        // Linux's answer for NewReno and CUBIC, which have no get_info: nothing, length 0.
        if (!stream) return error{EOPNOTSUPP};
        *len = 0;
        return 0;
    }
    if (level == SOL_SOCKET && name == SO_MEMINFO) {
        // sk_get_meminfo's nine counters: the buffers' sizes and the bytes queued each way
        // (coronet's receive and send queues); the rest, which coronet does not keep, 0.
        std::array<std::uint32_t, 9> m{};
        sim_.run([&](simulation::world& w) {
            if (auto* t = tcb(w, h)) {
                m[0] = static_cast<std::uint32_t>(t->readable_bytes()); // RMEM_ALLOC
                m[5] = static_cast<std::uint32_t>(t->send_queued());    // WMEM_QUEUED
            }
            return 0;
        });
        auto buffer = [&](socket_option o) {
            auto v = sim_.run(
                [&](simulation::world& w) { return w.app->get_socket_option(h, o).get(); });
            return v ? static_cast<std::uint32_t>(*v) : 0u;
        };
        m[1] = buffer(socket_option::receive_buffer); // RCVBUF
        m[3] = buffer(socket_option::send_buffer);    // SNDBUF
        return put(m, value, len);
    }
    if (level == IPPROTO_TCP && name == TCP_INQ) {
        if (!stream) return error{EOPNOTSUPP};
        return put<int>(d->inq ? 1 : 0, value, len);
    }
    if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
        auto v = sim_.run([&](simulation::world& w) {
            return w.app->get_socket_option(h, socket_option::congestion_control).get();
        });
        if (!v) return error{v.error()};
        const char* cc = *v == 1 ? "cubic" : "reno";
        if (value == nullptr) return error{EFAULT};
        const auto n = std::min<socklen_t>(*len, static_cast<socklen_t>(std::strlen(cc) + 1));
        std::memcpy(value, cc, n);
        *len = n;
        return 0;
    }
    if (auto t = timeout_option(level, name)) {
        if (*len < static_cast<socklen_t>(sizeof(timeval))) return error{EINVAL};
        auto ms =
            sim_.run([&](simulation::world& w) { return w.app->get_socket_option(h, *t).get(); });
        if (!ms) return error{ms.error()};
        const timeval tv{.tv_sec = *ms / 1000, .tv_usec = (*ms % 1000) * 1000};
        return put(tv, value, len);
    }
    auto opt = integer_option(level, name);
    if (!opt) return error{ENOPROTOOPT};
    auto v =
        sim_.run([&](simulation::world& w) { return w.app->get_socket_option(h, *opt).get(); });
    if (!v) return error{v.error()};
    return put<int>(static_cast<int>(*v), value, len);
}

result<int> adapter::setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
    auto d = find(fd);
    if (!d) return error{d.error()};
    if (d->is_epoll) return error{ENOTSOCK};
    if (value == nullptr && len > 0) return error{EFAULT};
    const handle h = d->h;
    std::int64_t v = 0;
    std::optional<socket_option> opt;
    if (level == SOL_SOCKET && name == SO_LINGER) {
        if (len < static_cast<socklen_t>(sizeof(linger))) return error{EINVAL};
        linger l{};
        std::memcpy(&l, value, sizeof l);
        opt = socket_option::linger;
        v = l.l_onoff ? l.l_linger : -1;
    } else if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
        const std::string cc(static_cast<const char*>(value),
                             strnlen(static_cast<const char*>(value), len));
        if (cc != "reno" && cc != "cubic") return error{ENOENT}; // as Linux for an unknown name
        opt = socket_option::congestion_control;
        v = cc == "cubic" ? 1 : 0;
    } else if (level == IPPROTO_TCP && (name == TCP_INQ || name == TCP_MAXSEG)) {
        if (!d->stream) return error{EOPNOTSUPP};
        if (len < static_cast<socklen_t>(sizeof(int))) return error{EINVAL};
        int i = 0;
        std::memcpy(&i, value, sizeof i);
        if (name == TCP_INQ) {
            if (i < 0 || i > 1) return error{EINVAL};
            return set_inq(fd, i != 0);
        }
        opt = socket_option::max_segment;
        v = i;
    } else if (auto t = timeout_option(level, name)) {
        auto ms = timeout_ms(value, len);
        if (!ms) return error{ms.error()};
        opt = t;
        v = *ms;
    } else {
        opt = integer_option(level, name);
        if (!opt) return error{ENOPROTOOPT};
        if (len < static_cast<socklen_t>(sizeof(int))) return error{EINVAL};
        int i = 0;
        std::memcpy(&i, value, sizeof i);
        v = i;
    }
    auto r =
        sim_.run([&](simulation::world& w) { return w.app->set_socket_option(h, *opt, v).get(); });
    if (!r) return error{r.error()};
    return 0;
}

} // namespace coronet::packetdrill
