#pragma once
// Counters: named per-subsystem event counts, readable at run time; the base of a
// /proc/net/snmp-like view.
//
// Why it is built this way: the hot path must pay one plain 64-bit add and nothing else, so a
// counter is a bare uint64_t that the layer holds by reference; names exist only when a layer
// declares its counters (once, at set-up) and when someone reads them. A counter_group owns
// its counters (a deque, so references stay valid as counters are declared) and enters a
// counter_registry; the group leaves the registry when it is destroyed. A registry destroyed
// first lets go of its groups, which keep counting, unlisted. Everything is per core: no
// atomics, no locks.
//
// How a layer declares its counters:
//
//   struct udp_counters {
//       explicit udp_counters(counter_registry& r) : group(r, "udp") {}
//       counter_group group;
//       counter& rx_datagrams = group.declare("rx_datagrams");
//       counter& rx_bad_checksum = group.declare("rx_bad_checksum");
//   };
//   ...
//   ++stats.rx_datagrams;                       // the hot path: one add
//   registry.read("udp.rx_bad_checksum");       // at run time, by name
//
// A gauge (declared with counter_kind::gauge) is a level set up and down rather than an event
// count (connections open now, buffers a queue holds); only exporters that tell the two apart
// (Prometheus) see the difference.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "framework/result.hpp"

namespace coronet {

// One event count. Wraps at 2^64 like the kernel's counters.
struct counter {
    std::uint64_t value = 0;

    counter& operator++() noexcept {
        ++value;
        return *this;
    }
    void operator++(int) noexcept { ++value; }
    counter& operator+=(std::uint64_t n) noexcept {
        value += n;
        return *this;
    }
};

class counter_registry;

enum class counter_kind : std::uint8_t {
    count, // events since start: only grows (wrapping at 2^64)
    gauge, // a level: set, up and down
};

// The counters of one subsystem ("ipv4", "tcp", "nic0"...), in the order they were declared.
class counter_group {
public:
    // Names are words without blanks; a group name has no '.' (it separates group and counter
    // in a read) and is unique in its registry. A bad or duplicate name is a bug: it throws.
    counter_group(counter_registry& registry, std::string name);
    ~counter_group();
    counter_group(const counter_group&) = delete;
    counter_group& operator=(const counter_group&) = delete;

    // Declares a counter, starting at 0; the reference stays valid as long as the group.
    counter& declare(std::string name, counter_kind kind = counter_kind::count);

    std::string_view name() const noexcept { return name_; }
    std::size_t size() const noexcept { return values_.size(); }
    std::string_view counter_name(std::size_t i) const { return names_.at(i); }
    std::uint64_t value(std::size_t i) const { return values_.at(i).value; }
    counter_kind kind(std::size_t i) const { return kinds_.at(i); }
    // nullptr when the group has no counter of that name.
    const counter* find(std::string_view name) const noexcept;
    // Sets every counter back to 0 (a test, or a `--zero` on a stats command).
    void reset() noexcept;

private:
    friend class counter_registry;
    // Not part of the group's value: the registry clears it when it goes first.
    mutable counter_registry* registry_;
    std::string name_;
    std::vector<std::string> names_;
    std::vector<counter_kind> kinds_;
    std::deque<counter> values_;
};

// The groups of one core's stack, for reading by name and dumping as text.
class counter_registry {
public:
    enum class format {
        lines, // one "group: name value" line per counter
        snmp,  // two lines per group, names then values, as in /proc/net/snmp
        // The Prometheus text exposition format (version 0.0.4): each counter as
        // `coronet_<group>_<name>` with a # TYPE line (counter or gauge); characters a
        // Prometheus name may not hold become '_'. Names are therefore as stable as the
        // counters' own (each layer's counters.hpp lists them).
        prometheus,
    };

    counter_registry() = default;
    ~counter_registry();
    counter_registry(const counter_registry&) = delete;
    counter_registry& operator=(const counter_registry&) = delete;

    // The registered groups, in registration order.
    const std::vector<const counter_group*>& groups() const noexcept { return groups_; }
    // nullptr when no group has that name.
    const counter_group* find(std::string_view group) const noexcept;
    // The value of "group.name"; ENOENT when there is no such group or counter.
    result<std::uint64_t> read(std::string_view dotted) const;
    std::string dump(format f = format::lines) const;

private:
    friend class counter_group;
    void add(const counter_group& g);
    void remove(const counter_group& g) noexcept;
    std::vector<const counter_group*> groups_;
};

} // namespace coronet
