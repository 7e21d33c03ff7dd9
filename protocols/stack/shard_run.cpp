#include "protocols/stack/shard_run.hpp"

#include "framework/shard/submit.hpp"
#include "protocols/stack/native_stack.hpp"
#include "framework/process/socket_table.hpp"

namespace coronet::launch {
namespace {
constexpr const char* signal_reason = "stopped by a signal";
}

void run_shared::attach(unsigned i, process& p, server_context& ctx) {
    slots_[i] = {&p, &ctx};
    if (stopping_.load(std::memory_order_acquire)) stop_here(i);
}

void run_shared::detach(unsigned i) noexcept { slots_[i] = {}; }

void run_shared::shard_done() noexcept {
    if (alive_.fetch_sub(1, std::memory_order_acq_rel) == 1 && shard::current_or_null() != nullptr)
        (void)try_post(0, [] {}); // shard 0's loop looks at all_ended() again
}

void run_shared::stop_here(unsigned i) {
    slot& s = slots_[i];
    if (s.proc == nullptr) return;
    if (signalled_.load(std::memory_order_acquire)) {
        s.proc->terminate(signal_reason);
    } else {
        s.ctx->exit_code = code_.load(std::memory_order_acquire);
        s.proc->terminate(server_context::finished_reason);
    }
}

void run_shared::end_all(unsigned from, bool signalled, int code, task_scope& background) {
    signalled_.store(signalled, std::memory_order_release);
    code_.store(code, std::memory_order_release);
    stopping_.store(true, std::memory_order_release);
    for (unsigned i = 0; i < count(); ++i)
        if (i != from)
            background.spawn([](run_shared* self, unsigned to) -> task<void> {
                co_await submit_to(to, [self, to] { self->stop_here(to); });
            }(this, i));
    stop_here(from);
}

task<std::string> run_shared::report_all() {
    if (count() == 1) co_return slots_[0].ctx ? report_text(*slots_[0].ctx) : std::string();
    std::string out;
    for (unsigned i = 0; i < count(); ++i) {
        out += "=== coronet: shard " + std::to_string(i) + " ===\n";
        out += co_await submit_to(i, [this, i] {
            return slots_[i].ctx ? report_text(*slots_[i].ctx) : std::string("(ended)\n");
        });
    }
    co_return out;
}

std::string report_text(const server_context& ctx) {
    std::string out = "--- coronet: counters ---\n" + ctx.counters.dump();
    if (const network_stack* stack = ctx.proc.stack())
        if (auto rows = socket_table(*stack))
            out += "--- coronet: sockets ---\n" + socket_table_text(*rows);
    return out;
}

} // namespace coronet::launch
