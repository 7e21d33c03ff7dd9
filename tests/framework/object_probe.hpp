#pragma once
// Kernel objects for the object manager's tests: they count their life (lifetime_counter) and
// write what happens to them (the last-handle hook, destruction) into a log the test owns,
// which outlives them.
#include "framework/object/object.hpp"
#include "tests/framework/lifetime_counter.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace coronet::test {

struct probe_log {
    std::vector<std::string> events;
    int hook_calls = 0;
    std::uint32_t handles_in_hook = ~0u;
    std::uint32_t refs_in_hook = 0;
};

template <object_type Type>
class basic_probe : public typed_object<Type> {
public:
    basic_probe() = default;
    explicit basic_probe(probe_log& log, std::function<void(basic_probe&)> on_close = {})
        : log_(&log), on_close_(std::move(on_close)) {}
    ~basic_probe() override {
        if (log_ != nullptr) log_->events.push_back("destroyed");
    }

private:
    void on_last_handle_closed() noexcept override {
        if (log_ != nullptr) {
            log_->events.push_back("last handle closed");
            ++log_->hook_calls;
            log_->handles_in_hook = this->handle_count();
            log_->refs_in_hook = this->ref_count();
        }
        if (on_close_) on_close_(*this);
    }

    probe_log* log_ = nullptr;
    std::function<void(basic_probe&)> on_close_;
    lifetime_counter life_;
};

using event_probe = basic_probe<object_type::event>;
using socket_probe = basic_probe<object_type::socket>;

} // namespace coronet::test
