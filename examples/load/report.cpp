#include "examples/load/report.hpp"

#include <fmt/format.h>

namespace coronet::load {
namespace {

double seconds(duration d) { return std::chrono::duration<double>(d).count(); }

double per_second(std::uint64_t n, duration d) {
    const double s = seconds(d);
    return s > 0 ? static_cast<double>(n) / s : 0.0;
}

// A latency in nanoseconds, in the unit that reads best.
std::string readable(std::uint64_t ns) {
    if (ns < 1000) return fmt::format("{} ns", ns);
    if (ns < 1000000) return fmt::format("{:.0f} us", static_cast<double>(ns) / 1e3);
    if (ns < 1000000000) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
    return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

std::string what(const load_config& c) {
    switch (c.mode) {
    case load_mode::http:
        return fmt::format("GET http://{}{}", to_string(c.target), c.path);
    case load_mode::echo:
        return fmt::format("echo {} B to {}", c.size, to_string(c.target));
    case load_mode::bulk_send:
        return fmt::format("bulk from {} (the server sends)", to_string(c.target));
    case load_mode::bulk_recv:
        return fmt::format("bulk to {} (the server receives)", to_string(c.target));
    }
    return "?";
}

double gbit_per_second(std::uint64_t bytes, duration d) { return per_second(bytes, d) * 8 / 1e9; }

// What a run did: its responses (echoes, connections) per second, or for bulk its throughput.
std::string outcome(const load_config& c, const load_stats& s) {
    if (is_bulk(c.mode))
        return fmt::format("  {:.3f} Gbit/s received, {:.3f} Gbit/s sent ({} and {} bytes in "
                           "{:.2f} s)\n",
                           gbit_per_second(s.bytes_received, s.elapsed),
                           gbit_per_second(s.bytes_sent, s.elapsed), s.bytes_received,
                           s.bytes_sent, seconds(s.elapsed));
    return fmt::format(
        "  {} {} in {:.2f} s: {:.0f} {}/s; received {:.1f} MB/s, sent {:.1f} MB/s\n", s.responses,
        c.mode == load_mode::http ? "responses" : "echoes", seconds(s.elapsed),
        per_second(s.responses, s.elapsed), c.rate_mode ? "connections" : "requests",
        per_second(s.bytes_received, s.elapsed) / 1e6, per_second(s.bytes_sent, s.elapsed) / 1e6);
}

// The target is an address and the path was checked to hold no control character or quote,
// but a backslash or a quote in a future field should not break the JSON: escape them.
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
            out += c;
    }
    return out + '"';
}

constexpr double percentiles[] = {50, 90, 99, 99.9};

} // namespace

std::string text_report(const run_description& d, const load_stats& s) {
    const auto& c = d.cfg;
    std::string out =
        fmt::format("coronet-load: {}, {} connections{}{}, {} stack\n", what(c), c.connections,
                    c.pipeline > 1 ? fmt::format(", pipeline {}", c.pipeline) : "",
                    c.rate_mode ? ", one request per connection" : "", d.stack);
    out += outcome(c, s);
    if (s.latency.count() > 0)
        out += fmt::format("  latency: p50 {}, p90 {}, p99 {}, p99.9 {}, max {} (mean {})\n",
                           readable(s.latency.percentile(50)), readable(s.latency.percentile(90)),
                           readable(s.latency.percentile(99)), readable(s.latency.percentile(99.9)),
                           readable(s.latency.max()),
                           readable(static_cast<std::uint64_t>(s.latency.mean())));
    out += fmt::format("  connections: {} opened\n", s.connects);
    if (s.error_total() == 0) return out + "  errors: none\n";
    out += fmt::format("  errors: {} (", s.error_total());
    bool first = true;
    for (std::size_t i = 0; i < error_kinds; ++i) {
        if (s.errors[i] == 0) continue;
        out += fmt::format("{}{} {}", first ? "" : ", ", name_of(static_cast<error_kind>(i)),
                           s.errors[i]);
        first = false;
    }
    return out + ")\n";
}

std::string json_report(const run_description& d, const load_stats& s) {
    const auto& c = d.cfg;
    std::string out = "{";
    out += fmt::format("\"mode\":{},\"target\":{},", json_string(name_of(c.mode)),
                       json_string(to_string(c.target)));
    if (c.mode == load_mode::http)
        out += fmt::format("\"path\":{},", json_string(c.path));
    else if (c.mode == load_mode::echo)
        out += fmt::format("\"size\":{},", c.size);
    else
        out += fmt::format("\"gbit_per_s\":{:.4f},",
                           gbit_per_second(s.bytes_received + s.bytes_sent, s.elapsed));
    out += fmt::format("\"stack\":{},\"connections\":{},\"pipeline\":{},\"rate_mode\":{},",
                       json_string(d.stack), c.connections, c.pipeline, c.rate_mode);
    out += fmt::format("\"elapsed_s\":{:.6f},\"responses\":{},\"requests_per_s\":{:.1f},",
                       seconds(s.elapsed), s.responses, per_second(s.responses, s.elapsed));
    out += fmt::format("\"bytes_sent\":{},\"bytes_received\":{},\"connects\":{},", s.bytes_sent,
                       s.bytes_received, s.connects);
    out += fmt::format("\"latency_us\":{{\"count\":{},\"min\":{:.3f},", s.latency.count(),
                       static_cast<double>(s.latency.min()) / 1e3);
    for (double p : percentiles) {
        std::string key = fmt::format("p{}", p);
        for (auto& ch : key)
            if (ch == '.') ch = '_';
        out +=
            fmt::format("\"{}\":{:.3f},", key, static_cast<double>(s.latency.percentile(p)) / 1e3);
    }
    out += fmt::format("\"max\":{:.3f},\"mean\":{:.3f}}},",
                       static_cast<double>(s.latency.max()) / 1e3, s.latency.mean() / 1e3);
    out += fmt::format("\"errors\":{{\"total\":{}", s.error_total());
    for (std::size_t i = 0; i < error_kinds; ++i)
        out += fmt::format(",\"{}\":{}", name_of(static_cast<error_kind>(i)), s.errors[i]);
    return out + "}}\n";
}

std::string progress_line(const progress& p, std::uint64_t responses_last,
                          std::uint64_t bytes_last, duration period) {
    return fmt::format("coronet-load: {:.0f} s: {:.0f} req/s, {:.1f} Mbit/s, {} open, {} errors",
                       seconds(p.elapsed), per_second(responses_last, period),
                       per_second(bytes_last, period) * 8 / 1e6, p.open, p.errors);
}

} // namespace coronet::load
