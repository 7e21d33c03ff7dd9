#include "framework/interrupt.hpp"

namespace coronet {

unsigned interrupt_controller::allocate(std::string_view name) {
    auto l = std::make_unique<line_state>();
    l->name = name;
    lines_.push_back(std::move(l));
    return static_cast<unsigned>(lines_.size() - 1);
}

result<> interrupt_controller::connect(unsigned line, service_routine isr, void* context) {
    if (line >= lines_.size() || !isr) return error{EINVAL};
    auto& l = *lines_[line];
    if (l.isr) return error{EBUSY};
    l.isr = isr;
    l.context = context;
    return {};
}

result<> interrupt_controller::connect_dpc(unsigned line, dpc& d) {
    return connect(
        line, [](void* ctx, unsigned) { scheduler::current().queue_dpc(*static_cast<dpc*>(ctx)); }, &d);
}

void interrupt_controller::disconnect(unsigned line) {
    if (line >= lines_.size()) return;
    lines_[line]->isr = nullptr;
    lines_[line]->context = nullptr;
}

void interrupt_controller::raise(unsigned line) {
    auto& l = *lines_.at(line);
    ++l.raised;
    if (l.isr)
        l.isr(l.context, line);
    else
        ++l.spurious;
    l.waiters.wake_all();
}

} // namespace coronet
