// The simulation world: native hosts on in-memory wires, virtual time, seeded faults.
// Ping and UDP across two hosts and across a router, with loss, duplication, reordering
// and corruption; fragmentation across the wire; byte-identical captures for a seed;
// and an independent decoder (tshark) reading the captures.
#include "protocols/sim/harness.hpp"

#include <catch2/catch.hpp>
#include "tests/skip.hpp"
#include <cstdio>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

ipv4_prefix prefix(const char* text) { return ipv4_prefix::parse(text).value(); }
const ipv4_address b_addr(10, 0, 0, 2);

// Two hosts (the harness's a and b) on one 100 Mbit/s wire with the given faults, ARP not
// yet resolved: the first ping's extra round trip is part of what is tested.
sim::network_options two_hosts(fault_config faults = {}, std::uint64_t seed = 1) {
    return {.seed = seed, .faults = faults, .bandwidth_bps = 100'000'000, .settle_arp = false};
}

// UDP echo server on `host`:7 answering `count` datagrams (or until cancelled).
void start_udp_echo(sim::host& host, ref<process>& proc) {
    proc = host.create_process("echo");
    auto* p = proc.get();
    p->spawn([p]() -> task<void> {
        auto s = p->socket(socket_type::datagram).get();
        REQUIRE(s);
        REQUIRE(p->bind(*s, {ipv4_any, 7}).get());
        std::vector<std::byte> buf(65536);
        for (;;) {
            auto got = co_await p->recv_from(*s, buf);
            if (!got) co_return;
            (void)co_await p->send_to(*s, std::span(buf).first(got->size), got->from);
        }
    });
}

std::vector<std::byte> pattern(std::size_t n, unsigned salt) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + salt) & 0xff);
    return v;
}

// Sends `count` datagrams of `size` bytes to b:7 one at a time, waiting up to 200 ms for
// each echo; returns how many came back intact (a corrupted echo would count as lost).
int udp_echo_round(sim::test_network& net, int count, std::size_t size) {
    ref<process> server;
    start_udp_echo(net.b(), server);
    auto client = net.a().create_process("client");
    int intact = 0;
    client->spawn([&]() -> task<void> {
        auto s = client->socket(socket_type::datagram).get().value();
        std::vector<std::byte> back(65536);
        for (int i = 0; i < count; ++i) {
            auto msg = pattern(size, static_cast<unsigned>(i));
            auto sent = co_await client->send_to(s, msg, {b_addr, 7});
            if (!sent) continue;
            // Replies to earlier datagrams (late duplicates) may come first: skip them.
            auto deadline = net.world().now() + 200ms;
            while (net.world().now() < deadline) {
                auto reply = co_await when_any(client->recv_from(s, back), [&]() -> task<int> {
                    (void)co_await sleep_until(deadline);
                    co_return 0;
                }());
                if (reply.index() != 0) break;
                auto& got = std::get<0>(reply);
                if (got && got->size == size && std::equal(msg.begin(), msg.end(), back.begin())) {
                    ++intact;
                    break;
                }
            }
        }
    });
    net.world().run(client->join());
    server->terminate("test over");
    net.world().run(server->join());
    return intact;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

bool have_tshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }
bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// What tshark says of a capture: its expert notes of errors and warnings (malformed
// packets, bad checksums) and the number of frames it read.
struct tshark_report {
    int frames = 0;
    std::string problems;
};
tshark_report run_tshark(const std::string& path) {
    std::string cmd = "tshark -r " + path +
                      " -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE"
                      " -T fields -e frame.number -e _ws.expert.severity -e _ws.expert.message 2>&1";
    tshark_report rep;
    std::unique_ptr<FILE, int (*)(FILE*)> out(popen(cmd.c_str(), "r"), pclose);
    char line[4096];
    while (out && fgets(line, sizeof line, out.get())) {
        std::string l(line);
        if (l.find("Running as user") != std::string::npos) continue; // tshark's note on root
        if (l.empty() || !std::isdigit(static_cast<unsigned char>(l[0]))) {
            rep.problems += l; // tshark itself complained
            continue;
        }
        ++rep.frames;
        // Expert notes name malformed packets and bad checksums; severity is in the line.
        if (l.find("Malformed") != std::string::npos || l.find("Bad checksum") != std::string::npos ||
            l.find("incorrect") != std::string::npos || l.find("rror") != std::string::npos)
            rep.problems += l;
    }
    return rep;
}

} // namespace

TEST_CASE("sim: ping between two hosts, exact round trip on virtual time", "[sim][icmp]") {
    sim::test_network net(two_hosts());
    auto first = net.world().run(net.a().stack().ping(b_addr, 56, 1s));
    REQUIRE(first);
    // The first ping waits for ARP (one round trip more).
    auto rtt = net.world().run(net.a().stack().ping(b_addr, 56, 1s));
    REQUIRE(rtt);
    // Two propagation delays plus the serialisation of request and reply (98-byte frames).
    CHECK(*rtt == 2 * (1ms + net.link().serialisation(98)));
    CHECK(*first > *rtt);
}

TEST_CASE("sim: pings get through a lossy, reordering wire, with ARP retried", "[sim][icmp][faults]") {
    sim::test_network net(two_hosts({.loss = 0.2, .reorder = 0.2}));
    int answered = 0;
    for (int i = 0; i < 100; ++i)
        if (net.world().run(net.a().stack().ping(b_addr, 56, 500ms))) ++answered;
    // Each ping needs two frames through at 0.8 each: about 64 of 100.
    CHECK(answered > 45);
    CHECK(answered < 85);
    CHECK(net.link().stats().faults.lost.value > 0);
}

TEST_CASE("sim: ping across a router host with forwarding on, and not with it off", "[sim][icmp][forwarding]") {
    sim::world w({.seed = 3});
    auto& a = w.add_host("a");
    auto& r = w.add_host("router");
    auto& c = w.add_host("c");
    auto& left = w.add_wire({.latency = 2ms, .faults = {.loss = 0.05, .reorder = 0.1}});
    auto& right = w.add_wire({.latency = 3ms, .faults = {.loss = 0.05}});
    w.connect(a, left, prefix("10.0.1.2/24"));
    w.connect(r, left, prefix("10.0.1.1/24"));
    w.connect(r, right, prefix("10.0.2.1/24"));
    w.connect(c, right, prefix("10.0.2.2/24"));
    REQUIRE(a.stack().set_default_gateway(ipv4_address(10, 0, 1, 1)));
    REQUIRE(c.stack().set_default_gateway(ipv4_address(10, 0, 2, 1)));
    const ipv4_address far(10, 0, 2, 2);

    auto off = w.run(a.stack().ping(far, 56, 1s));
    CHECK_FALSE(off);
    CHECK(r.counters().read("ipv4.in_addr_errors").value() >= 1);

    r.stack().set_forwarding(true);
    int answered = 0;
    duration best = 1h;
    for (int i = 0; i < 50; ++i)
        if (auto rtt = w.run(a.stack().ping(far, 56, 1s))) {
            ++answered;
            best = std::min(best, *rtt);
        }
    CHECK(answered > 35);
    CHECK(best >= 2 * (2ms + 3ms));
    CHECK(r.counters().read("ipv4.forw_datagrams").value() >= static_cast<std::uint64_t>(2 * answered));
}

TEST_CASE("sim: UDP echo over a clean wire delivers every datagram intact", "[sim][udp]") {
    sim::test_network net(two_hosts());
    CHECK(udp_echo_round(net, 50, 1000) == 50);
}

TEST_CASE("sim: UDP echo with loss, duplication, reordering and corruption", "[sim][udp][faults]") {
    sim::test_network net(
        two_hosts({.loss = 0.05, .duplicate = 0.1, .reorder = 0.1, .corrupt = 0.05}));
    int intact = udp_echo_round(net, 200, 512);
    CHECK(intact > 120);
    CHECK(intact < 200);
    // Every corrupted frame was caught somewhere below the socket and dropped, counted.
    std::uint64_t caught = 0;
    for (auto* h : {&net.a(), &net.b()})
        for (const char* c : {"ethernet.in_not_for_us", "ethernet.in_unknown_type", "arp.in_errors", "ipv4.in_hdr_errors",
                              "ipv4.in_csum_errors", "ipv4.in_addr_errors", "udp.in_csum_errors", "udp.in_errors",
                              "icmp.in_csum_errors"})
            caught += h->counters().read(c).value_or(0);
    CHECK(net.link().stats().faults.corrupted.value > 0);
    CHECK(caught > 0);
}

TEST_CASE("sim: 60,000-byte datagrams are fragmented on the way and reassembled", "[sim][udp][fragments]") {
    sim::test_network net(two_hosts({.reorder = 0.3}));
    CHECK(udp_echo_round(net, 5, 60'000) == 5);
    INFO(net.a().counters_text() + net.b().counters_text() + net.link().registry().dump());
    CHECK(net.a().counters().read("ipv4.frag_creates").value() >= 5 * 41);
    CHECK(net.b().counters().read("ipv4.reasm_oks").value() == 5);
    CHECK(net.link().stats().faults.reordered.value > 0);
}

TEST_CASE("sim: the same seed gives byte-identical captures, another seed another", "[sim][determinism]") {
    auto run = [](std::uint64_t seed, const std::string& path) {
        sim::test_network net(
            two_hosts({.loss = 0.1, .duplicate = 0.05, .reorder = 0.2, .corrupt = 0.02}, seed));
        net.world().capture(net.a().nic_at(0), path);
        (void)udp_echo_round(net, 60, 700);
        for (int i = 0; i < 5; ++i)
            (void)net.world().run(net.a().stack().ping(b_addr, 100, 300ms));
    };
    run(11, "sim_seed11_a.pcap");
    run(11, "sim_seed11_b.pcap");
    run(12, "sim_seed12.pcap");
    auto first = read_file("sim_seed11_a.pcap");
    CHECK(first.size() > 10'000);
    CHECK(first == read_file("sim_seed11_b.pcap"));
    CHECK(first != read_file("sim_seed12.pcap"));
}

TEST_CASE("sim: tshark decodes the captures with no malformed packet and no bad checksum", "[sim][tshark]") {
    if (!have_tshark()) {
        if (in_ci()) FAIL("tshark is missing: apt-get install tshark");
        CORONET_SKIP("tshark is not installed (apt-get install tshark)");
    }
    {
        sim::test_network net(two_hosts({.reorder = 0.2}));
        net.world().capture(net.a().nic_at(0), "sim_clean.pcap");
        CHECK(udp_echo_round(net, 20, 3000) == 20); // with fragments
        for (int i = 0; i < 3; ++i)
            (void)net.world().run(net.a().stack().ping(b_addr, 56, 300ms));
    }
    auto rep = run_tshark("sim_clean.pcap");
    CHECK(rep.frames > 60);
    INFO(rep.problems);
    CHECK(rep.problems.empty());

    // The control: a capture from a corrupting wire does show bad checksums to tshark, so
    // the check above can fail.
    {
        sim::test_network net(two_hosts({.corrupt = 0.2}, 5));
        net.world().capture(net.a().nic_at(0), "sim_corrupt.pcap");
        (void)udp_echo_round(net, 30, 400);
    }
    auto bad = run_tshark("sim_corrupt.pcap");
    CHECK(bad.problems.find("Bad checksum") != std::string::npos);
}
