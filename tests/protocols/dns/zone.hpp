#pragma once
// A name server for the resolver's tests: a table of answers and a coroutine that serves
// it on a UDP socket of any process (native stack in simulation, or the host stack), and
// remembers each query's ID and source so tests can check they differ.
#include "framework/process/process.hpp"
#include "protocols/dns/wire.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coronet::dns::testing {

// What a server answers: records by question name; a name not in the table is NXDOMAIN.
struct zone {
    std::map<std::string, std::vector<record>> names{};
    bool silent = false;
    std::optional<dns::rcode> rcode{}; // every answer with this code, no records
    int queries = 0;
    std::vector<std::pair<std::uint16_t, endpoint>> seen{}; // each query's ID and source
};

inline record a_record(const char* name, ipv4_address ip) {
    return {.name = name, .ttl = 60, .address = ip};
}

// The answer `z` gives to the query `q`.
inline std::vector<std::byte> answer(const zone& z, const message& q) {
    message m{.id = q.id,
              .flags = {.response = true, .recursion_desired = true, .recursion_available = true},
              .questions = q.questions};
    const auto found = z.names.find(q.questions.at(0).name);
    if (z.rcode)
        m.flags.rcode = *z.rcode;
    else if (found == z.names.end())
        m.flags.rcode = rcode::name_error;
    else
        m.answers = found->second;
    return emit(m).value();
}

// Serves `z` on the bound datagram socket `s` of `p` until the socket or process goes.
inline task<void> serve(process& p, handle s, zone& z) {
    std::array<std::byte, max_udp_size> buf;
    for (;;) {
        auto got = co_await p.recv_from(s, buf);
        if (!got) co_return;
        ++z.queries;
        auto q = parse(std::span(buf).first(got->size));
        if (!q || q->questions.size() != 1) continue;
        z.seen.emplace_back(q->id, got->from);
        if (z.silent) continue;
        auto reply = answer(z, *q);
        (void)co_await p.send_to(s, reply, got->from);
    }
}

} // namespace coronet::dns::testing
