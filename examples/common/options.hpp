#pragma once
// The command line every example shares: which stack, and the native stack's settings
// (TAP device, addresses, MTU, offloads, capture, injected faults). A wrong flag or value
// prints the error and the usage on stderr and exits with status 2; --help prints the
// usage and exits with 0.
#include "protocols/stack/launch.hpp"

#include <CLI/CLI.hpp>

namespace coronet::examples {

// Adds --stack, --tap, --ip, --gateway, --mtu, --offload, --checksum-offload, --tso,
// --pcap, --loss, --duplicate, --reorder, --corrupt, --delay, --seed, --trace to `app`,
// storing into `out` as they are parsed.
void add_stack_options(CLI::App& app, stack_options& out);

// Parses the command line; exits as described above on --help or an error. Also refuses
// native-only flags with --stack host.
void parse_or_exit(CLI::App& app, int argc, char** argv);

} // namespace coronet::examples
