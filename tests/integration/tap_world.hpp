#pragma once
// A TAP NIC in the test's own network namespace, on a scheduler and its io_uring reactor,
// with a receiver that keeps every frame it is given (so the test decides when buffers go
// back), and frames built with coronet's wire formats. Addresses: the kernel's end is
// 10.0.0.1 (kernel_mac), coronet's is 10.0.0.2 (coronet_mac).
#include "drivers/tap/tap_nic.hpp"
#include "framework/coronet.hpp"
#include "framework/object/ref.hpp"
#include "framework/uring/uring.hpp"
#include "protocols/arp/wire.hpp"
#include "protocols/ethernet/wire.hpp"
#include "protocols/icmp/wire.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/udp/wire.hpp"
#include "tests/integration/netns.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace coronet::test {

inline constexpr mac_address kernel_mac{0x02, 0xc0, 0x7e, 0, 0, 1};
inline constexpr mac_address coronet_mac{0x02, 0xc0, 0x7e, 0, 0, 2};
inline constexpr ipv4_address kernel_ip{10, 0, 0, 1};
inline constexpr ipv4_address coronet_ip{10, 0, 0, 2};

using bytes = std::vector<std::byte>;

struct frame_catcher final : frame_sink {
    std::vector<packet> frames;
    result<> push(packet&& f) override {
        frames.push_back(std::move(f));
        return {};
    }
};

inline bytes contents(const packet& p) {
    bytes b(p.length());
    (void)p.copy_out(0, b);
    return b;
}

inline tap_options test_options() {
    tap_options o;
    o.name = "ctap%d";
    o.mac = coronet_mac;
    o.kernel_mac = kernel_mac;
    return o;
}

// pump_until for a test's own loop: turns it until pred() holds, waiting in the reactor
// between turns; false after `limit` of real time (the kernel is real: a frame that never
// comes fails the test).
template <class Pred>
bool pump_until(scheduler& sched, uring::uring_reactor& reactor, Pred pred,
                std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        sched.run_once(false);
        if (!pred()) reactor.wait(std::chrono::milliseconds(20));
    }
    return true;
}

struct tap_world {
    explicit tap_world(tap_options o = test_options(),
                       buffer_pool_options rx = {.buffer_size = 2048, .buffer_count = 64},
                       clock_source* clock = nullptr)
        : sched({.time_source = clock}), rx_pool(rx) {
        nic = make_object<tap_nic>(reactor, counters, rx_pool, std::move(o));
        nic->attach(&catcher);
    }
    ~tap_world() {
        catcher.frames.clear();
        nic->shutdown();
        pump_until([&] { return nic->stopped(); });
    }

    // Turns the loop until pred() holds (the free pump_until).
    template <class Pred>
    bool pump_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        return test::pump_until(sched, reactor, pred, limit);
    }

    std::string name() const { return nic->name(); }
    std::uint64_t counter(const std::string& c) const {
        return counters.read(nic->name() + "." + c).value();
    }
    // The kernel's end of the wire gets 10.0.0.1/24.
    void kernel_address() {
        auto r = run({"ip", "addr", "add", "10.0.0.1/24", "dev", name()});
        REQUIRE(r.status == 0);
    }

    scheduler sched;
    uring::uring_reactor reactor{sched};
    counter_registry counters;
    buffer_pool rx_pool;
    buffer_pool tx_pool{{.buffer_size = 2048, .buffer_count = 64}};
    ref<tap_nic> nic;
    frame_catcher catcher;
};

// Makes the kernel send IPv4 to 10.0.0.2, and so first ARP for it: `ping -c 3 10.0.0.2`
// as a child process; without ping installed, a UDP datagram from a kernel socket asks the
// same question.
class kernel_pings_coronet {
public:
    kernel_pings_coronet() : ping_({"ping", "-c", "3", "-i", "0.2", "10.0.0.2"}) {
        if (ping_.started()) return;
        WARN("ping is not installed (apt-get install iputils-ping): a UDP datagram makes the "
             "kernel ARP instead");
        int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(s >= 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(9);
        to.sin_addr.s_addr = htonl(coronet_ip.to_uint());
        CHECK(::sendto(s, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 1);
        ::close(s);
    }

private:
    child_process ping_;
};

// A kernel socket of `type` (SOCK_DGRAM, SOCK_STREAM) bound to 10.0.0.1:`port`.
inline int kernel_socket(int type, std::uint16_t port) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    auto a = inet(kernel_ip, port);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

// A kernel UDP socket on 10.0.0.1:`port`: one end of a flow to coronet, which sends and
// reads without blocking.
class udp_flow {
public:
    explicit udp_flow(std::uint16_t port)
        : port_(port), fd_(kernel_socket(SOCK_DGRAM | SOCK_NONBLOCK, port)) {}
    ~udp_flow() { ::close(fd_); }
    udp_flow(const udp_flow&) = delete;
    udp_flow& operator=(const udp_flow&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    void send(const std::string& text, std::uint16_t coronet_port = 9000) const {
        auto to = inet(coronet_ip, coronet_port);
        REQUIRE(::sendto(fd_, text.data(), text.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                         sizeof to) == static_cast<ssize_t>(text.size()));
    }
    // A datagram coronet sent this socket, if one is waiting.
    std::optional<std::string> receive() const {
        char buf[2048];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<std::size_t>(n));
    }

private:
    std::uint16_t port_;
    int fd_;
};

// How tap_device::open failed, if it did.
struct open_failure {
    int code = 0;
    std::string what;
};

inline std::optional<open_failure> try_open(const tap_options& o,
                                            std::size_t rx_frame_bytes = 2048) {
    try {
        tap_device d = tap_device::open(o, rx_frame_bytes);
        return std::nullopt;
    } catch (const std::system_error& e) {
        return open_failure{e.code().value(), e.what()};
    }
}

inline bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// The kernel's end writing raw frames onto the wire (an AF_PACKET socket bound to the TAP
// interface): they come out of the device's read side, to coronet.
class kernel_raw_sender {
public:
    explicit kernel_raw_sender(int ifindex)
        : ifindex_(ifindex), fd_(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) {
        REQUIRE(fd_ >= 0);
    }
    ~kernel_raw_sender() { ::close(fd_); }
    kernel_raw_sender(const kernel_raw_sender&) = delete;
    kernel_raw_sender& operator=(const kernel_raw_sender&) = delete;
    void send(const std::vector<std::byte>& frame) const {
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = ifindex_;
        to.sll_halen = 6;
        REQUIRE(::sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                         sizeof to) == static_cast<ssize_t>(frame.size()));
    }

private:
    int ifindex_;
    int fd_;
};

// --- frames, built with the wire formats ---

inline bytes ethernet_frame(mac_address src, mac_address dst, ethernet::ethertype type,
                            const bytes& payload) {
    bytes f(ethernet::header_length + payload.size());
    ethernet::emit({.source = src, .destination = dst, .ethertype = type}, f);
    std::copy(payload.begin(), payload.end(), f.begin() + ethernet::header_length);
    return f;
}

inline bytes arp_frame(arp::operation op, mac_address eth_dst, mac_address target_mac,
                       ipv4_address target_ip) {
    bytes a(arp::packet_length);
    arp::emit({.operation = op,
               .sender_mac = coronet_mac,
               .sender_ip = coronet_ip,
               .target_mac = target_mac,
               .target_ip = target_ip},
              a);
    return ethernet_frame(coronet_mac, eth_dst, ethernet::ethertype::arp, a);
}

inline bytes ipv4_packet(ipv4::protocol proto, const bytes& payload, std::uint16_t id = 1) {
    bytes p(ipv4::min_header_length + payload.size());
    ipv4::emit({.source = coronet_ip,
                .destination = kernel_ip,
                .protocol = proto,
                .identification = id,
                .payload_length = static_cast<std::uint16_t>(payload.size())},
               p);
    std::copy(payload.begin(), payload.end(), p.begin() + ipv4::min_header_length);
    return p;
}

inline bytes icmp_echo(std::uint16_t id, std::uint16_t seq, const bytes& data) {
    bytes m(icmp::header_length + data.size());
    icmp::emit(
        {.type = icmp::message::echo_request, .identifier = id, .sequence = seq, .data = data}, m);
    return m;
}

// A packet of `pool` holding `b`: in one slice, or with its first `split` bytes in one
// buffer and the rest in as many more as it takes (a chain of slices, like a stack's
// header buffer in front of payload buffers).
inline packet packet_of(buffer_pool& pool, const bytes& b, std::size_t split = 0) {
    auto head = packet::allocate(pool, 256).value();
    std::size_t first = split ? split : b.size();
    auto h = head.push_header(static_cast<std::uint32_t>(first)).value();
    std::memcpy(h.data(), b.data(), first);
    for (std::size_t at = first; at < b.size();) {
        auto chunk = std::min<std::size_t>(b.size() - at, pool.buffer_size());
        auto tail = pool.allocate().value();
        std::memcpy(tail.data().data(), b.data() + at, chunk);
        head.append_slice(tail, 0, static_cast<std::uint32_t>(chunk)).value();
        at += chunk;
    }
    return head;
}

// The ARP packet in an Ethernet frame, if it is one.
inline std::optional<arp::repr> as_arp(const bytes& f) {
    auto eth = ethernet::parse(f);
    if (!eth || eth->ethertype != ethernet::ethertype::arp) return std::nullopt;
    auto a = arp::parse(std::span(f).subspan(ethernet::header_length));
    if (!a) return std::nullopt;
    return *a;
}

} // namespace coronet::test
