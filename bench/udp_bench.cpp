// The native stack's receive path for one small UDP datagram: from the NIC's hand-off
// (interface::push, what nic::deliver calls) through Ethernet, IPv4 and UDP to the socket's
// receive queue. A frame is built once; each iteration share()s it (as a NIC hands up a
// buffer) and pushes it in; the socket's queue is drained so it never fills.
// Run: build/release/bench/bench_udp
#include "drivers/nic.hpp"
#include "framework/clock.hpp"
#include "protocols/checksum/checksum.hpp"
#include "protocols/ethernet/wire.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/stack/native_stack.hpp"
#include "protocols/udp/socket.hpp"
#include "protocols/udp/wire.hpp"

#include <benchmark/benchmark.h>

using namespace coronet;

namespace {

class null_nic final : public nic {
public:
    null_nic(scheduler& s, counter_registry& r)
        : nic(s, r, nic_config{.name = "bench0", .mac = {0x02, 0, 0, 0, 0, 1}, .mtu = 1500, .features = {}}) {}
    ~null_nic() override = default;

protected:
    result<> driver_transmit(packet&&) override { return {}; }
    bool driver_poll(unsigned) override { return false; }
};

// A 32-byte payload from 10.0.0.2:4000 to 10.0.0.1:9: a 74-byte frame.
packet build_frame(buffer_pool& pool) {
    constexpr std::size_t payload = 32;
    std::vector<std::byte> f(14 + 20 + 8 + payload, std::byte{0x5a});
    const ipv4_address src{10, 0, 0, 2}, dst{10, 0, 0, 1};
    ethernet::emit({{0x02, 0, 0, 0, 0, 2}, {0x02, 0, 0, 0, 0, 1}, ethernet::ethertype::ipv4}, f);
    ipv4::repr h;
    h.source = src;
    h.destination = dst;
    h.protocol = ipv4::protocol::udp;
    h.payload_length = 8 + payload;
    ipv4::emit(h, std::span(f).subspan(14));
    udp::emit({4000, 9, payload}, std::span(f).subspan(34), {src, dst});
    auto p = packet::allocate(pool, 0).value();
    counter copied;
    p.append(f, copied).value();
    return p;
}

void BM_udp_receive_small_datagram(benchmark::State& state) {
    virtual_clock clock;
    scheduler sched({.time_source = &clock});
    buffer_pool pool({.buffer_size = 2048, .buffer_count = 1024});
    counter_registry registry;
    null_nic card(sched, registry);
    native::options opts;
    opts.pool = &pool;
    native::native_stack stack(sched, registry, opts);
    const auto eth0 = stack.add_interface(card, {{10, 0, 0, 1}, 24});
    auto keep = stack.socket(socket_type::datagram).value();
    auto& sock = static_cast<udp::socket&>(*keep);
    sock.bind({ipv4_any, 9}).value();
    frame_sink& input = stack.receiver(eth0);
    const packet frame = build_frame(pool);
    for (auto _ : state) {
        (void)input.push(frame.share().value());
        sock.discard_front();
    }
    if (registry.read("udp.in_datagrams").value() != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("a datagram did not reach the socket");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_udp_receive_small_datagram);

} // namespace
