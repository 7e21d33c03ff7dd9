#pragma once
// dns::resolver: a stub resolver (RFC 1123 §6.1.3.1) that a process runs through its own
// system calls (UDP sockets, its clock), so it works unchanged on the native stack and on
// the host stack, in simulation on virtual time as on a real network.
//
// resolve(name), in order:
// 1. a numeric address ("10.0.0.1") is itself, without a query;
// 2. the hosts table (config.hpp);
// 3. an A query to each configured server in turn, `attempts` rounds, each server given
//    `timeout`. Every query has a random 16-bit ID and goes from a new socket bound to
//    port 0, i.e. a random source port (both stacks pick ephemeral ports at random, RFC
//    6056); an answer counts only if it comes from the server asked (address and port, 53 from a
//    file), carries the query's ID and repeats its question, as RFC 5452 §9.1 asks. Anything else
//    is dropped, counted, and the wait goes on until the server's time is up.
// A CNAME chain in the answer is followed (at most max_cname_chain links); no query is
// made for a link the server left out. No cache, no search domains, no TCP fallback, no
// IPv6 (AAAA) queries.
//
// Errors (errno values, as getaddrinfo's EAI_* would say):
//   EINVAL    a name that cannot be a DNS name (empty label, label over 63 bytes...)
//   ENOENT    NXDOMAIN: no such name (EAI_NONAME)
//   ENODATA   the name exists but has no A record, or its CNAME chain ends without one
//             in the answer (EAI_NODATA)
//   ELOOP     a CNAME chain longer than max_cname_chain, or a loop
//   ETIMEDOUT every server stayed silent (or answered only with what was dropped)
//   EAGAIN    the last server to answer refused or failed (SERVFAIL, REFUSED: EAI_AGAIN)
//   EBADMSG   the last server to answer sent a malformed message carrying the query's ID
//   EMSGSIZE  the answer was truncated (TC): a TCP retry is not implemented
//   or the error of a socket call (ENETUNREACH, EMFILE...).
//
// Counters, group "dns" (in the registry given, else one of the resolver's own).
#include "framework/counters.hpp"
#include "framework/process/process.hpp"
#include "protocols/dns/config.hpp"
#include "protocols/dns/wire.hpp"

#include <memory>
#include <random>

namespace coronet::dns {

inline constexpr int max_cname_chain = 8;

struct counters {
    explicit counters(counter_registry& r) : group(r, "dns") {}
    counter_group group;
    counter& numeric = group.declare("numeric");         // names that were addresses
    counter& hosts_hits = group.declare("hosts_hits");   // names the hosts table knew
    counter& queries = group.declare("queries");         // queries sent
    counter& timeouts = group.declare("timeouts");       // a server silent for its timeout
    counter& answers = group.declare("answers");         // answers accepted
    counter& ignored = group.declare("ignored_answers"); // wrong source, ID or question
    counter& malformed = group.declare("malformed_answers");
    counter& name_errors = group.declare("name_errors");         // NXDOMAIN
    counter& server_failures = group.declare("server_failures"); // SERVFAIL, REFUSED, other
};

struct resolver_options {
    hosts_table hosts{};
    resolv_config config = resolv_config::parse("");
    std::uint64_t seed = 0;               // IDs' generator; 0: std::random_device
    counter_registry* registry = nullptr; // where "dns.*" appears; none: the resolver's own
};

// The system's: /etc/hosts and /etc/resolv.conf (or the paths given); a file that cannot be
// read counts as empty, as glibc takes a missing one.
resolver_options system_options(const std::filesystem::path& hosts = "/etc/hosts",
                                const std::filesystem::path& resolv_conf = "/etc/resolv.conf");

class resolver {
public:
    resolver(process& p, resolver_options opts);
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    // `name` is copied before the task starts.
    task<result<std::vector<ipv4_address>>> resolve(std::string_view name) {
        return resolve_name(std::string(name));
    }

    dns::counters& stats() noexcept { return *counters_; }

private:
    task<result<std::vector<ipv4_address>>> resolve_name(std::string name);
    // One query to one server: the answer accepted from it, or why there is none.
    task<result<message>> ask(const endpoint& server, const std::string& name);
    bool accepts(const message& m, std::uint16_t id, const std::string& name) const;

    process& process_;
    resolver_options opts_;
    std::unique_ptr<counter_registry> own_registry_;
    std::unique_ptr<dns::counters> counters_;
    std::mt19937_64 rng_;
};

// The addresses `name` has in `answer`, following CNAME links: ENODATA, ELOOP as above.
result<std::vector<ipv4_address>> addresses_in(const message& answer, const std::string& name);

} // namespace coronet::dns
