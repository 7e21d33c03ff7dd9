// Checksum and segmentation offload through the virtio header. With offloads on, coronet
// may leave a UDP checksum to the kernel (needs_csum) and send one 4 KB TCP segment that
// the kernel takes as a large segment (gso_tcpv4); the kernel may hand coronet datagrams
// with partial checksums. With offloads off, the kernel's frames carry full checksums.
#include "protocols/checksum/checksum.hpp"
#include "protocols/tcp/wire.hpp"
#include "tests/integration/tap_world.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace coronet;
using namespace coronet::test;

namespace {

constexpr std::size_t l4_offset = ethernet::header_length + ipv4::min_header_length; // 34

// A UDP datagram from 10.0.0.2:5000 whose checksum field holds only the pseudo-header sum,
// as a sender that leaves the checksum to the NIC writes it.
packet udp_with_partial_checksum(buffer_pool& pool, std::uint16_t port, const std::string& text,
                                 bool needs_csum) {
    bytes d(udp::header_length + text.size());
    std::memcpy(d.data() + udp::header_length, text.data(), text.size());
    udp::emit({.source_port = 5000,
               .destination_port = port,
               .payload_length = static_cast<std::uint16_t>(text.size())},
              d, {coronet_ip, kernel_ip});
    store_be16(std::span(d).subspan(udp::field::checksum),
               checksum::pseudo_header_sum(coronet_ip, kernel_ip, udp::ip_protocol,
                                           static_cast<std::uint16_t>(d.size())));
    auto p = packet_of(pool, ethernet_frame(coronet_mac, kernel_mac, ethernet::ethertype::ipv4,
                                            ipv4_packet(ipv4::protocol::udp, d)));
    if (needs_csum) {
        p.meta().offload.flags = packet_offload::needs_csum;
        p.meta().offload.csum_start = l4_offset;
        p.meta().offload.csum_offset = udp::field::checksum;
    }
    return p;
}

// "InCsumErrors" of Udp: in /proc/net/snmp (the namespace's own).
std::uint64_t udp_checksum_errors() {
    std::ifstream snmp("/proc/net/snmp");
    std::string names, values, line;
    while (std::getline(snmp, line))
        if (line.rfind("Udp:", 0) == 0) (names.empty() ? names : values) = line;
    std::istringstream n(names), v(values);
    for (std::string name, value; n >> name && v >> value;)
        if (name == "InCsumErrors") return std::stoull(value);
    return 0;
}

// Answers the kernel's ARP requests for 10.0.0.2.
void answer_arp(tap_world& w, std::size_t& seen) {
    for (; seen < w.catcher.frames.size(); ++seen) {
        auto a = as_arp(contents(w.catcher.frames[seen]));
        if (a && a->operation == arp::operation::request && a->target_ip == coronet_ip)
            (void)w.nic->transmit(
                packet_of(w.tx_pool, arp_frame(arp::operation::reply, a->sender_mac, a->sender_mac,
                                               a->sender_ip)));
    }
}

// The first UDP frame caught for coronet's port `port`.
const packet* udp_frame_to(const frame_catcher& c, std::uint16_t port) {
    for (auto& p : c.frames) {
        auto f = contents(p);
        if (f.size() < l4_offset + udp::header_length ||
            load_be16(std::span(f).subspan(12)) != 0x0800)
            continue;
        if (std::to_integer<int>(f[ethernet::header_length + 9]) != udp::ip_protocol) continue;
        if (load_be16(std::span(f).subspan(l4_offset + udp::field::destination_port)) == port)
            return &p;
    }
    return nullptr;
}

bool udp_checksum_verifies(const bytes& f) {
    auto d = std::span(f).subspan(l4_offset);
    return udp::parse(d, {kernel_ip, coronet_ip}).has_value();
}

} // namespace

TEST_CASE(
    "with checksum offload a datagram sent with its checksum left to the kernel arrives intact",
    "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w;
    REQUIRE(w.nic->features().tx_checksum_offload);
    w.kernel_address();
    udp_flow sock(9000);
    auto errors_before = udp_checksum_errors();

    // The control: the same unfinished checksum without needs_csum is a bad checksum.
    REQUIRE(w.nic->transmit(udp_with_partial_checksum(w.tx_pool, 9000, "unfinished", false)));
    REQUIRE(
        w.nic->transmit(udp_with_partial_checksum(w.tx_pool, 9000, "left to the kernel", true)));
    std::optional<std::string> got;
    REQUIRE(w.pump_until([&] {
        if (!got) got = sock.receive();
        return got.has_value();
    }));
    CHECK(*got == "left to the kernel");
    CHECK_FALSE(sock.receive()); // the control was dropped, not queued behind
    CHECK(udp_checksum_errors() == errors_before + 1);
    CHECK(w.counter("tx_offload_frames") == 1);
    CHECK(w.counter("tx_errors") == 0);
}

TEST_CASE("with checksum offload the kernel hands coronet datagrams with partial checksums",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w;
    w.kernel_address();
    REQUIRE(run({"ip", "neigh", "add", "10.0.0.2", "lladdr", "02:c0:7e:00:00:02", "dev", w.name()})
                .status == 0);
    udp_flow sock(9000);
    sock.send("partial", 7000);
    REQUIRE(w.pump_until([&] { return udp_frame_to(w.catcher, 7000) != nullptr; }));
    const packet& p = *udp_frame_to(w.catcher, 7000);
    const auto& off = p.meta().offload;
    REQUIRE((off.flags & packet_offload::needs_csum) != 0);
    CHECK(off.csum_start == l4_offset); // from the Ethernet header: the virtio header is gone
    CHECK(off.csum_offset == udp::field::checksum);
    CHECK(w.counter("rx_offload_frames") >= 1);

    // Finishing the checksum as a NIC would (virtio 1.1 §5.1.6.2) gives a valid datagram.
    auto f = contents(p);
    auto covered = std::span(f).subspan(off.csum_start);
    store_be16(covered.subspan(off.csum_offset), checksum::compute(covered));
    CHECK(udp_checksum_verifies(f));
}

TEST_CASE("without checksum offload the kernel's datagrams carry full checksums",
          "[integration][tap]") {
    CORONET_ENTER_NETNS();
    auto o = test_options();
    o.checksum_offload = false;
    tap_world w(o);
    CHECK_FALSE(w.nic->features().tx_checksum_offload);
    CHECK_FALSE(w.nic->features().rx_checksum_validated);
    CHECK_FALSE(w.nic->features().tso);
    w.kernel_address();
    REQUIRE(run({"ip", "neigh", "add", "10.0.0.2", "lladdr", "02:c0:7e:00:00:02", "dev", w.name()})
                .status == 0);
    udp_flow sock(9000);
    sock.send("complete", 7000);
    REQUIRE(w.pump_until([&] { return udp_frame_to(w.catcher, 7000) != nullptr; }));
    const packet& p = *udp_frame_to(w.catcher, 7000);
    CHECK((p.meta().offload.flags & packet_offload::needs_csum) == 0);
    CHECK(udp_checksum_verifies(contents(p)));
    CHECK(w.counter("rx_offload_frames") == 0);
}

TEST_CASE("with TSO the kernel takes a 4 KB TCP segment whole", "[integration][tap]") {
    CORONET_ENTER_NETNS();
    tap_world w;
    REQUIRE(w.nic->features().tso);
    w.kernel_address();

    // 4000 bytes to a closed port, without ACK: the kernel resets with ack = seq + 4000,
    // which says it read the segment as one.
    constexpr std::uint32_t seq = 1000;
    bytes segment(tcp::min_header_length + 4000);
    tcp::emit({.source_port = 40000,
               .destination_port = 9,
               .sequence = seq,
               .flags = tcp::flag::psh,
               .window = 65535,
               .payload_length = 4000},
              segment, {coronet_ip, kernel_ip});
    // As a TSO sender leaves it: the pseudo-header sum, for the kernel to finish per segment.
    store_be16(std::span(segment).subspan(16),
               checksum::pseudo_header_sum(coronet_ip, kernel_ip, 6,
                                           static_cast<std::uint16_t>(segment.size())));
    auto frame = ethernet_frame(coronet_mac, kernel_mac, ethernet::ethertype::ipv4,
                                ipv4_packet(ipv4::protocol::tcp, segment));
    REQUIRE(frame.size() > w.nic->mtu() + ethernet::header_length);
    auto p = packet_of(w.tx_pool, frame, 1024); // a large segment spans buffers anyway
    auto& off = p.meta().offload;
    off.flags = packet_offload::needs_csum;
    off.csum_start = l4_offset;
    off.csum_offset = 16; // the TCP checksum field
    off.gso_type = packet_offload::gso_tcpv4;
    off.gso_size = 1000;
    off.hdr_len = static_cast<std::uint16_t>(l4_offset + tcp::min_header_length);
    REQUIRE(w.nic->transmit(std::move(p)));

    std::size_t seen = 0;
    std::optional<tcp::repr> reset;
    REQUIRE(w.pump_until([&] {
        answer_arp(w, seen);
        for (auto& q : w.catcher.frames) {
            auto f = contents(q);
            if (f.size() < l4_offset + tcp::min_header_length ||
                load_be16(std::span(f).subspan(12)) != 0x0800)
                continue;
            if (std::to_integer<int>(f[ethernet::header_length + 9]) != 6) continue;
            auto r = tcp::parse(std::span(f).subspan(l4_offset), {kernel_ip, coronet_ip},
                                {.verify_checksum = false});
            if (r && tcp::has(r->flags, tcp::flag::rst)) reset = *r;
        }
        return reset.has_value();
    }));
    CHECK(reset->acknowledgment == seq + 4000);
    CHECK(w.counter("tx_offload_frames") == 1);
    CHECK(w.counter("tx_dropped_too_big") == 0);
    CHECK(w.counter("tx_errors") == 0);
}
