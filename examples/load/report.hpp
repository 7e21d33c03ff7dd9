#pragma once
// coronet-load's output: the report as text (for a person) or as one JSON object (for the
// suite, scripts/bench), and the progress line.
#include "examples/load/load.hpp"

#include <string>

namespace coronet::load {

struct run_description {
    const load_config& cfg;
    std::string stack; // "host" or "native"
};

std::string text_report(const run_description& d, const load_stats& s);
std::string json_report(const run_description& d, const load_stats& s);
// "3 s: 312004 req/s, 40.0 Mbit/s, 64 open, 0 errors": `responses_last` responses and
// `bytes_last` bytes (both ways) in the last `period`.
std::string progress_line(const progress& p, std::uint64_t responses_last,
                          std::uint64_t bytes_last, duration period);

} // namespace coronet::load
