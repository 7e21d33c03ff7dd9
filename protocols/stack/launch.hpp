#pragma once
// launch: what every example's main() does, in one call. It builds the scheduler and its
// io_uring reactor, the stack asked for (the native stack over a TAP device, with capture
// and fault injection in front of it if asked, or the host stack: Linux sockets), a
// process whose socket calls that stack serves, and runs the server coroutine in it until
// it ends or SIGINT/SIGTERM arrives (SIGUSR1 prints the counters and, on the native stack,
// the TCP connection table on stderr, as nstat and ss -tani would). Then it ends the process
// (its handles close), shuts the TAP device down and lets the loop run until the kernel
// holds none of its buffers.
//
//   int main(int argc, char** argv) {
//       coronet::stack_options opts; // filled in from the command line
//       return coronet::run_server(opts, [](coronet::server_context& ctx) { return serve(ctx.proc);
//       });
//   }
//
// Signals reach the loop as a byte on a pipe read through io_uring (the handler only writes
// that byte), so a shutdown is one more completion, never a handler racing the loop.
#include "drivers/faults/fault_model.hpp"
#include "framework/net/address.hpp"
#include "framework/process/process.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace coronet {

class scheduler;
class counter_registry;
class tap_nic;
namespace native {
class native_stack;
}

enum class stack_kind : std::uint8_t {
    native, // coronet's own TCP/IP over a TAP device
    host,   // the Linux kernel's sockets through io_uring
};

struct stack_options {
    stack_kind stack = stack_kind::native;

    // --- native only ---
    // The TAP device; a "%d" is filled in by the kernel. An existing persistent device of
    // that name is attached to, else a new one is created.
    std::string tap = "coronet%d";
    ipv4_prefix address = ipv4_prefix(ipv4_address(10, 0, 0, 2), 24); // coronet's end
    std::optional<ipv4_address> gateway;
    // If set, the TAP interface (the kernel's end) is given this address; the device is
    // coronet's own, so this touches no other interface. Tests and the demo use it.
    std::optional<ipv4_prefix> kernel_address;
    std::uint32_t mtu = 1500;
    bool checksum_offload = true; // TUN_F_CSUM
    bool tso = true;              // TUN_F_TSO4 (needs checksum_offload)
    std::string pcap;             // capture file of the TAP NIC, both directions
    fault_config faults{};        // in front of the TAP, both directions
    // A token-bucket shaper on the TAP NIC's transmit path (drivers/shaper): bit/s, 0 for none;
    // its burst in bytes, 0 for two full frames (2 x (mtu + 14)).
    std::uint64_t shaper_rate_bps = 0;
    std::uint32_t shaper_burst_bytes = 0;
    // The stack's and the fault stages'. 0: a random one, since the stack derives its secret
    // keys from it (ISNs, SYN cookies, ephemeral ports, the keyed hashes of its tables): with
    // a fixed seed a stranger on the network computes them too. Give one to replay a run.
    std::uint64_t seed = 0;
    bool trace = false;           // one line per packet per layer, on stderr
    // How long a datagram's first fragment waits for the rest (RFC 791's reassembly timer,
    // Linux's ipfrag_time). Tests of incomplete fragments shorten it.
    duration reassembly_timeout = std::chrono::seconds(30);
    // Unanswered retransmissions (or window probes) before a connection fails with ETIMEDOUT
    // (Linux's tcp_retries2). Tests of peers that vanish shorten it.
    unsigned tcp_retries = 15;

    // --- both ---
    // Shards (framework/shard): one thread per core, each with its own scheduler, io_uring,
    // stack and process running the server; 0: one per CPU the process may use. On the host
    // stack each shard listens with SO_REUSEPORT; on the native stack each has its own queue
    // of a multi-queue TAP device. With 1 (the default) everything runs on the calling thread.
    // pcap, fault injection and the shaper need 1.
    unsigned cores = 1;
    std::string process_name = "server";
    // Ends the run on SIGINT/SIGTERM (their handlers are coronet's for the run). Off, the
    // signals keep their usual effect.
    bool stop_on_signals = true;
};

// What the server coroutine is given.
struct server_context {
    process& proc;
    scheduler& sched;
    counter_registry& counters;
    const stack_options& options;
    native::native_stack* native = nullptr; // the native stack (ping, counters), or null on host
    tap_nic* tap = nullptr;                 // its NIC
    int exit_code = 0;                      // what run_server returns if the server ends by itself
    unsigned shard_id = 0;                  // this shard, of shard_count (options.cores resolved)
    unsigned shard_count = 1;
    // Ends every shard's process (finish() ends only this one's): run_server then returns
    // `code` once all have ended.
    std::function<void(int code)> finish_all{};

    // Ends the run from inside: the process ends (its other coroutines are cancelled, its
    // handles close) and run_server returns `code`.
    void finish(int code = 0) {
        exit_code = code;
        proc.terminate(finished_reason);
    }
    static constexpr const char* finished_reason = "finished";
};

// The function object must outlive the run (run_server's caller holds it): a coroutine
// lambda's captures live in it.
using server_main = std::function<task<void>(server_context&)>;

// Runs `server` in a process on the chosen stack, as described above. Returns the exit
// code: the context's exit_code when the server ends, 0 after a signal, 1 when the process
// crashed (its reason printed on stderr). With several shards the server runs on each; a
// shard whose process crashes ends alone (the others serve on) and the run returns 1 at the
// end; SIGINT/SIGTERM ends them all. Start-up failures (no /dev/net/tun, no
// CAP_NET_ADMIN, a bad address) throw std::system_error / std::runtime_error.
int run_server(const stack_options& options, const server_main& server);

// How many shards run_server runs for these options (cores, with 0 resolved).
unsigned shard_count(const stack_options& options);

// The same, for a server that needs nothing but its process.
int run_server(const stack_options& options, const std::function<task<void>(process&)>& server);

} // namespace coronet
