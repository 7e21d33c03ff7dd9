#pragma once
// The command line every example shares: which stack, and the native stack's settings
// (TAP device, addresses, MTU, offloads, capture, injected faults). A wrong flag or value
// prints the error and the usage on stderr and exits with status 2; --help prints the
// usage and exits with 0.
#include "protocols/stack/launch.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace coronet::examples {

// Adds --stack, --tap, --ip, --gateway, --mtu, --offload, --checksum-offload, --tso,
// --pcap, --loss, --duplicate, --reorder, --corrupt, --delay, --truncate, --rate, --burst,
// --seed, --trace, --cores to `app`, storing into `out` as they are parsed.
void add_stack_options(CLI::App& app, stack_options& out);

// Parses the command line; exits as described above on --help or an error. Also refuses
// native-only flags with --stack host.
void parse_or_exit(CLI::App& app, int argc, char** argv);

// What parse_or_exit checks after parsing: native-only flags with --stack host, and those of
// what sits in front of one NIC queue (capture, faults, shaper) with --cores other than 1.
// CLI::ValidationError.
void check_stack_flags(CLI::App& app);

// A rate in bit/s: digits with an optional k, M or G suffix (10^3, 10^6, 10^9): "10M" is
// 10,000,000. Nothing for 0, junk, or more than the shaper holds (2^63 - 1).
std::optional<std::uint64_t> parse_rate(std::string_view text);

} // namespace coronet::examples
