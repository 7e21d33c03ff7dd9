#include "framework/counters.hpp"

#include <algorithm>
#include <stdexcept>

namespace coronet {

namespace {

bool is_word(std::string_view s) noexcept {
    if (s.empty()) return false;
    return std::none_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':';
    });
}

// A Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*; ours always start with "coronet_".
void append_metric_name(std::string& out, std::string_view group, std::string_view name) {
    out += "coronet_";
    for (std::string_view part : {group, std::string_view("_"), name})
        for (char c : part) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_';
            out += ok ? c : '_';
        }
}

void dump_prometheus(std::string& out, const counter_group& g) {
    for (std::size_t i = 0; i < g.size(); ++i) {
        std::string metric;
        append_metric_name(metric, g.name(), g.counter_name(i));
        out += "# TYPE ";
        out += metric;
        out += g.kind(i) == counter_kind::gauge ? " gauge\n" : " counter\n";
        out += metric;
        out += ' ';
        out += std::to_string(g.value(i));
        out += '\n';
    }
}

} // namespace

counter_group::counter_group(counter_registry& registry, std::string name)
    : registry_(&registry), name_(std::move(name)) {
    if (!is_word(name_) || name_.find('.') != std::string::npos)
        throw std::invalid_argument("counter_group: bad group name '" + name_ + "'");
    registry_->add(*this);
}

counter_group::~counter_group() {
    if (registry_ != nullptr) registry_->remove(*this);
}

counter& counter_group::declare(std::string name, counter_kind kind) {
    if (!is_word(name))
        throw std::invalid_argument("counter_group " + name_ + ": bad counter name '" + name + "'");
    if (find(name) != nullptr)
        throw std::invalid_argument("counter_group " + name_ + ": counter '" + name +
                                    "' declared twice");
    names_.push_back(std::move(name));
    kinds_.push_back(kind);
    return values_.emplace_back();
}

const counter* counter_group::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < names_.size(); ++i)
        if (names_[i] == name) return &values_[i];
    return nullptr;
}

void counter_group::reset() noexcept {
    for (auto& c : values_)
        c.value = 0;
}

counter_registry::~counter_registry() {
    // The groups outlive us: they keep their counters but no longer point here.
    for (const auto* g : groups_)
        g->registry_ = nullptr;
}

void counter_registry::add(const counter_group& g) {
    if (find(g.name()) != nullptr)
        throw std::invalid_argument("counter_registry: group '" + std::string(g.name()) +
                                    "' registered twice");
    groups_.push_back(&g);
}

void counter_registry::remove(const counter_group& g) noexcept { std::erase(groups_, &g); }

const counter_group* counter_registry::find(std::string_view group) const noexcept {
    for (const auto* g : groups_)
        if (g->name() == group) return g;
    return nullptr;
}

result<std::uint64_t> counter_registry::read(std::string_view dotted) const {
    const auto dot = dotted.find('.');
    if (dot == std::string_view::npos) return error{ENOENT};
    const auto* g = find(dotted.substr(0, dot));
    if (g == nullptr) return error{ENOENT};
    const auto* c = g->find(dotted.substr(dot + 1));
    if (c == nullptr) return error{ENOENT};
    return c->value;
}

std::string counter_registry::dump(format f) const {
    std::string out;
    for (const auto* g : groups_) {
        if (f == format::prometheus) {
            dump_prometheus(out, *g);
            continue;
        }
        const std::string prefix = std::string(g->name()) + ":";
        if (f == format::lines) {
            for (std::size_t i = 0; i < g->size(); ++i) {
                out += prefix;
                out += ' ';
                out += g->counter_name(i);
                out += ' ';
                out += std::to_string(g->value(i));
                out += '\n';
            }
        } else {
            std::string names = prefix, values = prefix;
            for (std::size_t i = 0; i < g->size(); ++i) {
                names += ' ';
                names += g->counter_name(i);
                values += ' ';
                values += std::to_string(g->value(i));
            }
            out += names + '\n' + values + '\n';
        }
    }
    return out;
}

} // namespace coronet
