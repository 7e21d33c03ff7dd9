#include "protocols/dns/resolver.hpp"

#include "framework/net/byte_order.hpp"
#include "framework/scheduler.hpp"
#include "framework/timeout.hpp"

#include <algorithm>
#include <array>

namespace coronet::dns {

namespace {

std::uint64_t seed_of(std::uint64_t seed) {
    if (seed != 0) return seed;
    std::random_device rd;
    return std::uint64_t{rd()} << 32 | rd();
}

} // namespace

resolver_options system_options(const std::filesystem::path& hosts,
                                const std::filesystem::path& resolv_conf) {
    resolver_options o;
    if (auto text = read_config_file(hosts)) o.hosts = hosts_table::parse(*text);
    o.config = resolv_config::parse(read_config_file(resolv_conf).value_or(""));
    return o;
}

resolver::resolver(process& p, resolver_options opts)
    : process_(p), opts_(std::move(opts)), rng_(seed_of(opts_.seed)) {
    if (opts_.registry == nullptr) own_registry_ = std::make_unique<counter_registry>();
    counters_ = std::make_unique<dns::counters>(opts_.registry != nullptr ? *opts_.registry
                                                                          : *own_registry_);
}

result<std::vector<ipv4_address>> addresses_in(const message& answer, const std::string& name) {
    std::string current = name;
    for (int link = 0; link <= max_cname_chain; ++link) {
        std::vector<ipv4_address> out;
        const record* alias = nullptr;
        for (const auto& r : answer.answers) {
            if (r.name != current) continue;
            if (r.type == record_type::a) out.push_back(r.address);
            if (r.type == record_type::cname && alias == nullptr) alias = &r;
        }
        if (!out.empty()) return out;
        if (alias == nullptr) return error{ENODATA};
        current = alias->target;
    }
    return error{ELOOP};
}

task<result<std::vector<ipv4_address>>> resolver::resolve_name(std::string name) {
    if (auto numeric = ipv4_address::parse(name)) {
        ++counters_->numeric;
        co_return std::vector{*numeric};
    }
    auto normal = normalize(name);
    if (!normal) co_return error{normal.error()};
    if (auto known = opts_.hosts.lookup(*normal); !known.empty()) {
        ++counters_->hosts_hits;
        co_return known;
    }
    int last = ETIMEDOUT;
    for (int attempt = 0; attempt < opts_.config.attempts; ++attempt) {
        for (const auto& server : opts_.config.servers) {
            auto answer = co_await ask(server, *normal);
            if (!answer) {
                if (answer.error() != ETIMEDOUT) last = answer.error();
                continue;
            }
            switch (answer->flags.rcode) {
            case rcode::no_error:
                ++counters_->answers;
                co_return addresses_in(*answer, *normal);
            case rcode::name_error:
                ++counters_->answers;
                ++counters_->name_errors;
                co_return error{ENOENT};
            default: // SERVFAIL, REFUSED...: the next server may do better
                ++counters_->server_failures;
                last = EAGAIN;
            }
        }
    }
    co_return error{last};
}

bool resolver::accepts(const message& m, std::uint16_t id, const std::string& name) const {
    return m.id == id && m.flags.response && m.flags.opcode == 0 && m.questions.size() == 1 &&
           m.questions[0] == question{name};
}

task<result<message>> resolver::ask(const endpoint& server, const std::string& name) {
    const auto id = static_cast<std::uint16_t>(rng_());
    auto query = emit_query(id, name);
    if (!query) co_return error{query.error()};
    auto s = process_.own(co_await process_.socket(socket_type::datagram));
    if (!s) co_return error{s.error()};
    if (auto b = co_await process_.bind(*s, {ipv4_any, 0}); !b) co_return error{b.error()};
    auto sent = co_await process_.send_to(*s, *query, server);
    if (!sent) co_return error{sent.error()};
    ++counters_->queries;
    const auto deadline = scheduler::current().now() + opts_.config.timeout;
    // One byte more than a DNS message over UDP may have: a longer one shows as truncated.
    std::array<std::byte, max_udp_size + 1> buffer;
    for (;;) {
        auto got = co_await with_deadline(deadline, process_.recv_from(*s, buffer));
        if (!got) {
            if (got.error() == ETIMEDOUT) ++counters_->timeouts;
            co_return error{got.error()};
        }
        if (got->from != server) {
            ++counters_->ignored;
            continue;
        }
        const auto bytes = std::span<const std::byte>(buffer).first(got->size);
        auto m = got->truncated ? result<message>(error{EBADMSG}) : parse(bytes);
        if (!m) {
            ++counters_->malformed;
            // Garbage without our ID may be anyone's: wait on. With it, it is the answer.
            if (bytes.size() >= 2 && load_be16(bytes) == id) co_return error{EBADMSG};
            continue;
        }
        if (!accepts(*m, id, name)) {
            ++counters_->ignored;
            continue;
        }
        if (m->flags.truncated) co_return error{EMSGSIZE};
        co_return std::move(*m);
    }
}

} // namespace coronet::dns
