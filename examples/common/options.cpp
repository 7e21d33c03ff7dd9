#include "examples/common/options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>

namespace coronet::examples {
namespace {

// A validator that a text parses with T::parse (an address, a prefix).
template <class T>
CLI::Validator parses_as(std::string what) {
    return CLI::Validator(
        [what](std::string& text) -> std::string {
            return T::parse(text) ? std::string() : "'" + text + "' is not " + what;
        },
        what);
}

bool on_off(const std::string& s) { return s == "on"; }

// Flags of what sits in front of one NIC queue: one core only.
const char* const single_queue[] = {"--pcap",  "--loss",     "--duplicate", "--reorder", "--corrupt",
                                    "--delay", "--truncate", "--rate",      "--burst"};

const char* const native_only[] = {"--tap", "--ip", "--gateway", "--mtu", "--offload",
                                   "--checksum-offload", "--tso", "--trace"};

} // namespace

void add_stack_options(CLI::App& app, stack_options& out) {
    const std::string group = "Stack";
    app.add_option_function<std::string>(
           "--stack",
           [&out](const std::string& s) {
               out.stack = s == "host" ? stack_kind::host : stack_kind::native;
           },
           std::string("native: coronet's TCP/IP over a TAP device; host: Linux sockets through "
                       "io_uring (default ") +
               (out.stack == stack_kind::host ? "host)" : "native)"))
        ->check(CLI::IsMember({"native", "host"}))
        ->group(group);
    app.add_option("--tap", out.tap,
                   "TAP device name; %d is filled in by the kernel (default coronet%d)")
        ->group(group);
    app.add_option_function<std::string>(
           "--ip", [&out](const std::string& s) { out.address = *ipv4_prefix::parse(s); },
           "coronet's address and prefix (default 10.0.0.2/24)")
        ->check(parses_as<ipv4_prefix>("ADDR/PREFIX"))
        ->group(group);
    app.add_option_function<std::string>(
           "--gateway", [&out](const std::string& s) { out.gateway = *ipv4_address::parse(s); },
           "default gateway (on the --ip subnet)")
        ->check(parses_as<ipv4_address>("an IPv4 address"))
        ->group(group);
    app.add_option("--mtu", out.mtu, "IP bytes per frame (default 1500)")
        ->check(CLI::Range(576, 9000))
        ->group(group);
    app.add_option_function<std::string>(
           "--offload",
           [&out](const std::string& s) { out.checksum_offload = out.tso = on_off(s); },
           "checksum offload and TSO on the TAP device: on|off (default on)")
        ->check(CLI::IsMember({"on", "off"}))
        ->group(group);
    app.add_option_function<std::string>(
           "--checksum-offload", [&out](const std::string& s) { out.checksum_offload = on_off(s); },
           "checksum offload alone: on|off")
        ->check(CLI::IsMember({"on", "off"}))
        ->group(group);
    app.add_option_function<std::string>(
           "--tso", [&out](const std::string& s) { out.tso = on_off(s); },
           "TCP segmentation offload alone: on|off")
        ->check(CLI::IsMember({"on", "off"}))
        ->group(group);
    app.add_option("--pcap", out.pcap, "write the TAP NIC's frames, both ways, to this pcap file")
        ->group(group);
    const std::string faults = "Fault injection (native, both directions)";
    app.add_option("--loss", out.faults.loss, "probability a frame is lost")
        ->check(CLI::Range(0.0, 1.0))
        ->group(faults);
    app.add_option("--duplicate", out.faults.duplicate, "probability a frame is duplicated")
        ->check(CLI::Range(0.0, 1.0))
        ->group(faults);
    app.add_option("--reorder", out.faults.reorder,
                   "probability a frame is held back behind later ones")
        ->check(CLI::Range(0.0, 1.0))
        ->group(faults);
    app.add_option("--corrupt", out.faults.corrupt, "probability a byte of a frame is flipped")
        ->check(CLI::Range(0.0, 1.0))
        ->group(faults);
    app.add_option_function<double>(
           "--delay",
           [&out](double ms) {
               out.faults.delay = std::chrono::duration_cast<duration>(
                   std::chrono::duration<double, std::milli>(ms));
           },
           "extra delay per frame, milliseconds")
        ->check(CLI::Range(0.0, 10000.0))
        ->group(faults);
    app.add_option("--truncate", out.faults.truncate,
                   "cut frames to this many IP bytes (a middlebox that truncates; the receiver "
                   "drops them)")
        ->check(CLI::Range(1u, 9000u))
        ->group(faults);
    auto* rate = app.add_option_function<std::string>(
                        "--rate",
                        [&out](const std::string& s) { out.shaper_rate_bps = *parse_rate(s); },
                        "shape what the NIC sends to BITS/S (a k, M or G suffix: 10M), a token "
                        "bucket")
                     ->check(CLI::Validator(
                         [](std::string& s) -> std::string {
                             return parse_rate(s) ? std::string()
                                                  : "'" + s + "' is not a rate in bit/s";
                         },
                         "BITS/S"))
                     ->group(faults);
    app.add_option("--burst", out.shaper_burst_bytes,
                   "the shaper's bucket in bytes (default two full frames)")
        ->check(CLI::Range(1u, 1u << 30U))
        ->needs(rate)
        ->group(faults);
    app.add_option("--seed", out.seed,
                   "seed of the stack's keys and of the faults (default: random)")
        ->group(faults);
    app.add_flag("--trace", out.trace, "print one line per packet per layer on stderr")
        ->group(group);
    app.add_option("--cores", out.cores,
                   "shards: one thread per core, each with its own stack and a copy of the "
                   "server; 0: every CPU the process may use (default 1)")
        ->check(CLI::Range(0u, 1024u))
        ->group(group);
}

std::optional<std::uint64_t> parse_rate(std::string_view text) {
    std::uint64_t scale = 1;
    if (!text.empty()) {
        switch (text.back()) {
        case 'k': scale = 1'000; break;
        case 'M': scale = 1'000'000; break;
        case 'G': scale = 1'000'000'000; break;
        default: break;
        }
        if (scale != 1) text.remove_suffix(1);
    }
    std::uint64_t v = 0;
    const auto* end = text.data() + text.size();
    const auto [at, ec] = std::from_chars(text.data(), end, v);
    // The shaper counts in bit-nanoseconds held in an int64 (shaper.hpp).
    constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (text.empty() || ec != std::errc() || at != end || v == 0 || v > limit / scale)
        return std::nullopt;
    return v * scale;
}

void check_stack_flags(CLI::App& app) {
    auto given = [&](const char* flag) {
        auto* o = app.get_option_no_throw(flag);
        return o != nullptr && o->count() != 0;
    };
    auto* stack = app.get_option_no_throw("--stack");
    if (stack && stack->count() && stack->as<std::string>() == "host") {
        for (const auto& list : {std::span<const char* const>(native_only),
                                 std::span<const char* const>(single_queue)})
            for (const char* flag : list)
                if (given(flag))
                    throw CLI::ValidationError(std::string(flag) +
                                               " applies to the native stack only");
    }
    if (auto* cores = app.get_option_no_throw("--cores");
        cores && cores->count() && cores->as<unsigned>() != 1)
        for (const char* flag : single_queue)
            if (given(flag)) throw CLI::ValidationError(std::string(flag) + " needs --cores 1");
}

void parse_or_exit(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        check_stack_flags(app);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        std::exit(0);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: %s\n\n%s", app.get_name().c_str(), e.what(), app.help().c_str());
        std::exit(2);
    }
}

} // namespace coronet::examples
