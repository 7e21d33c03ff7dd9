#pragma once
// loopback_stack: a tiny network stack for testing the process layer without any
// protocol: stream sockets connected in memory by port number, bytes moved through
// per-direction queues. It implements just enough of socket_object to exercise the system
// calls' dispatch, rights, blocking and cancellation.
#include "framework/process/socket.hpp"
#include "framework/wait_queue.hpp"

#include <deque>
#include <map>

namespace coronet::testing {

class loopback_socket;

class loopback_stack final : public network_stack {
public:
    std::string_view name() const noexcept override { return "loopback"; }
    result<ref<socket_object>> socket(socket_type type) override;
    std::map<std::uint16_t, loopback_socket*> listeners;
};

class loopback_socket final : public socket_object {
public:
    explicit loopback_socket(loopback_stack& s) : stack_(s) {}
    ~loopback_socket() override {
        if (listening_) stack_.listeners.erase(local_.port.value());
    }

    result<> bind(const endpoint& e) override {
        if (stack_.listeners.count(e.port.value())) return error{EADDRINUSE};
        local_ = e;
        return {};
    }
    result<> listen(int) override {
        stack_.listeners[local_.port.value()] = this;
        listening_ = true;
        return {};
    }
    task<result<ref<socket_object>>> accept() override {
        while (backlog_.empty()) {
            if (closed_) co_return error{EBADF};
            if (auto r = co_await arrivals_.wait(); !r) co_return error{r.error()};
        }
        auto s = std::move(backlog_.front());
        backlog_.pop_front();
        co_return ref<socket_object>(std::move(s));
    }
    task<result<>> connect(const endpoint& remote) override {
        auto it = stack_.listeners.find(remote.port.value());
        if (it == stack_.listeners.end()) co_return error{ECONNREFUSED};
        auto server_side = make_object<loopback_socket>(stack_);
        server_side->peer_ = this;
        peer_ = server_side.get();
        it->second->backlog_.push_back(server_side);
        it->second->arrivals_.wake_one();
        co_return result<>{};
    }
    task<result<std::size_t>> read(std::span<std::byte> out) override {
        while (inbox_.empty()) {
            if (peer_closed_ || closed_) co_return std::size_t{0};
            if (auto r = co_await readable_.wait(); !r) co_return error{r.error()};
        }
        std::size_t n = 0;
        while (n < out.size() && !inbox_.empty()) {
            out[n++] = inbox_.front();
            inbox_.pop_front();
        }
        co_return n;
    }
    task<result<std::size_t>> write(std::span<const std::byte> in) override {
        if (!peer_ || closed_) co_return error{EPIPE};
        peer_->inbox_.insert(peer_->inbox_.end(), in.begin(), in.end());
        peer_->readable_.wake_all();
        co_return in.size();
    }
    result<endpoint> local_endpoint() const override { return local_; }
    result<> set_option(socket_option opt, std::int64_t v) override {
        if (opt != socket_option::no_delay) return error{ENOPROTOOPT};
        no_delay_ = v;
        return {};
    }
    result<std::int64_t> get_option(socket_option opt) const override {
        if (opt != socket_option::no_delay) return error{ENOPROTOOPT};
        return no_delay_;
    }

protected:
    void on_last_handle_closed() noexcept override {
        closed_ = true;
        if (peer_) {
            peer_->peer_closed_ = true;
            peer_->peer_ = nullptr;
            peer_->readable_.wake_all();
        }
        readable_.wake_all();
        arrivals_.wake_all();
    }

private:
    loopback_stack& stack_;
    endpoint local_;
    loopback_socket* peer_ = nullptr;
    bool listening_ = false, closed_ = false, peer_closed_ = false;
    std::int64_t no_delay_ = 0;
    std::deque<std::byte> inbox_;
    std::deque<ref<loopback_socket>> backlog_;
    wait_queue readable_, arrivals_;
};

inline result<ref<socket_object>> loopback_stack::socket(socket_type type) {
    if (type != socket_type::stream) return error{EPROTONOSUPPORT};
    return ref<socket_object>(make_object<loopback_socket>(*this));
}

} // namespace coronet::testing
