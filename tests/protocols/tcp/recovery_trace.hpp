#pragma once
// What the loss-recovery traces (trace_prr, trace_rack) share: NewReno (ssthresh is
// FlightSize / 2 exactly) with no tail loss probe, so the recovery under test is the only
// loss response; segments of one SMSS numbered from 1; and what left, by segment number.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace coronet::tcp_trace {

constexpr std::uint32_t smss = 1460;

inline tcp::config recovery_config() {
    tcp::config c = trace_config();
    c.congestion = tcp::congestion_algorithm::newreno;
    c.tail_loss_probe = false;
    return c;
}

// Where segment k (from 1) of the stream begins, relative to our ISS.
constexpr std::uint32_t seg(std::uint32_t k) { return 1 + (k - 1) * smss; }

// What left since the last look, pure ACKs skipped: "new 11,rxt 1" (a segment number at
// or below `highest`, which it raises, was sent before).
inline std::string sent_now(trace& t, std::uint32_t& highest) {
    std::string r;
    while (!t.quiet()) {
        const auto s = t.take();
        if (s.h.payload_length == 0) continue;
        const std::uint32_t k = (s.h.sequence - t.iss - 1) / smss + 1;
        if (!r.empty()) r += ','; // piece by piece: a chain of + trips g++ 12's -O3 -Wrestrict
        r += k <= highest ? "rxt " : "new ";
        r += std::to_string(k);
        highest = std::max(highest, k);
    }
    return r;
}

} // namespace coronet::tcp_trace
