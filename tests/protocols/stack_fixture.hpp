#pragma once
// What the native-stack tests share: test_nic, a NIC whose wire is the test itself (frames
// injected by hand, frames sent kept for inspection) or a peer test_nic after a latency; a
// world on virtual time with one buffer pool that outlives every host; hosts; and builders
// of frames from their fields, for "one frame in, the exact frame expected out".
#include "drivers/nic.hpp"
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/clock.hpp"
#include "framework/scheduler.hpp"
#include "protocols/arp/wire.hpp"
#include "protocols/ethernet/wire.hpp"
#include "protocols/icmp/wire.hpp"
#include "protocols/ipv4/wire.hpp"
#include "protocols/stack/native_stack.hpp"
#include "protocols/udp/wire.hpp"

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "tests/protocols/hex.hpp"

namespace coronet::testing {


inline bytes flatten(const packet& p) {
    bytes out(p.length());
    (void)p.copy_out(0, out);
    return out;
}

inline bytes text(std::string_view s) {
    auto b = std::as_bytes(std::span(s.data(), s.size()));
    return bytes(b.begin(), b.end());
}

class test_nic final : public nic {
public:
    test_nic(scheduler& s, counter_registry& r, nic_config c) : nic(s, r, std::move(c)) {}
    ~test_nic() override = default;

    // Frames the stack sent, oldest first (when there is no peer).
    std::deque<packet> sent;
    // Where sent frames go instead, `latency` later.
    test_nic* peer = nullptr;
    duration latency{};
    // Drops the next n frames sent (a lossy wire).
    unsigned drop_next = 0;

    // A frame arrives from the wire (delivered by the NIC's DPC).
    void inject(packet&& frame) {
        inbox_.push_back(std::move(frame));
        raise_interrupt();
    }
    void inject(const bytes& frame, buffer_pool& pool) {
        auto p = packet::allocate(pool, 0).value();
        counter copied;
        p.append(frame, copied).value();
        inject(std::move(p));
    }
    bytes take_sent() {
        auto p = std::move(sent.front());
        sent.pop_front();
        return flatten(p);
    }

protected:
    result<> driver_transmit(packet&& frame) override {
        if (drop_next > 0) {
            --drop_next;
            return {};
        }
        if (peer == nullptr) {
            sent.push_back(std::move(frame));
            return {};
        }
        if (latency == duration::zero()) {
            peer->inject(std::move(frame));
            return {};
        }
        in_flight_.push_back({sched().now() + latency, std::move(frame)});
        if (!timer_.armed()) sched().timers().add(timer_, in_flight_.front().due);
        return {};
    }
    bool driver_poll(unsigned budget) override {
        while (budget-- > 0 && !inbox_.empty()) {
            auto p = std::move(inbox_.front());
            inbox_.pop_front();
            deliver(std::move(p));
        }
        return !inbox_.empty();
    }

private:
    struct flight {
        time_point due;
        packet frame;
    };
    void arrive() {
        while (!in_flight_.empty() && in_flight_.front().due <= sched().now()) {
            peer->inject(std::move(in_flight_.front().frame));
            in_flight_.pop_front();
        }
        if (!in_flight_.empty()) sched().timers().add(timer_, in_flight_.front().due);
    }
    struct nic_timer : timer_entry {
        test_nic* owner;
        explicit nic_timer(test_nic* n) : timer_entry(&fire), owner(n) {}
        static void fire(timer_entry* t) { static_cast<nic_timer&>(*t).owner->arrive(); }
    };
    std::deque<packet> inbox_;
    std::deque<flight> in_flight_;
    nic_timer timer_{this};
};

// Virtual time, a scheduler and the one pool every host builds packets from (declared
// first, so it is destroyed last).
struct world {
    virtual_clock clock;
    scheduler sched{{.time_source = &clock}};
    buffer_pool pool{{.buffer_size = 2048, .buffer_count = 8192}};

    // Runs everything that can run now, without moving time.
    void settle() {
        for (;;) {
            const auto before = sched.stats();
            sched.run_once(false);
            const auto& after = sched.stats();
            if (after.resumed == before.resumed && after.dpcs_run == before.dpcs_run &&
                after.timers_fired == before.timers_fired)
                return;
        }
    }
    // Moves time forward by d, firing each timer at its own time.
    void advance(duration d) {
        const time_point target = clock.now() + d;
        for (;;) {
            settle();
            auto next = sched.timers().next_expiry();
            if (!next || *next > target) break;
            if (*next > clock.now()) clock.advance_to(*next);
        }
        clock.advance_to(target);
        settle();
    }
    time_point now() const { return clock.now(); }
};

// A host: counters, one NIC, a native stack on it.
struct host {
    counter_registry registry;
    test_nic card;
    native::native_stack stack;
    native::interface_id eth0;

    host(world& w, std::string name, mac_address mac, ipv4_prefix address,
         native::options opts = {}, std::uint32_t mtu = 1500, nic_features features = {})
        : card(w.sched, registry, nic_config{.name = std::move(name), .mac = mac, .mtu = mtu, .features = features}),
          stack(w.sched, registry, with_pool(opts, w.pool)), eth0(stack.add_interface(card, address)) {}

    std::uint64_t counter(std::string_view dotted) const { return registry.read(dotted).value(); }

    static native::options with_pool(native::options o, buffer_pool& p) {
        o.pool = &p;
        return o;
    }
};

// Two hosts joined by their test NICs, `latency` apart each way: exact, fault-free timing
// for packet traces (protocols/sim runs the stack over drivers/wire with faults).
inline void connect(host& x, host& y, duration latency) {
    x.card.peer = &y.card;
    y.card.peer = &x.card;
    x.card.latency = latency;
    y.card.latency = latency;
}

// --- frame builders ---

inline bytes ethernet_frame(mac_address src, mac_address dst, ethernet::ethertype type,
                            const bytes& payload) {
    bytes f(ethernet::header_length + payload.size());
    ethernet::emit({src, dst, type}, f);
    std::copy(payload.begin(), payload.end(), f.begin() + ethernet::header_length);
    return f;
}

inline bytes arp_packet(const arp::repr& r) {
    bytes b(arp::packet_length);
    arp::emit(r, b);
    return b;
}

// An IPv4 datagram: header from `h` (its payload_length set from `payload`), then payload.
inline bytes ip_datagram(ipv4::repr h, const bytes& payload) {
    h.payload_length = static_cast<std::uint16_t>(payload.size());
    bytes b(ipv4::min_header_length + payload.size());
    ipv4::emit(h, b);
    std::copy(payload.begin(), payload.end(), b.begin() + ipv4::min_header_length);
    return b;
}

inline bytes udp_datagram(ipv4_address src, ipv4_address dst, port sp, port dp, const bytes& data) {
    bytes b(udp::header_length + data.size());
    std::copy(data.begin(), data.end(), b.begin() + udp::header_length);
    udp::emit({sp, dp, static_cast<std::uint16_t>(data.size())}, b, {src, dst});
    return b;
}

inline ipv4::repr ip_header(ipv4_address src, ipv4_address dst, ipv4::protocol proto,
                            std::uint16_t id = 0, std::uint8_t ttl = 64, bool df = false) {
    ipv4::repr h;
    h.source = src;
    h.destination = dst;
    h.protocol = proto;
    h.identification = id;
    h.ttl = ttl;
    h.dont_fragment = df;
    return h;
}

// The IP identification of a sent frame (the stack picks it; tests copy it into the
// expected frame).
inline std::uint16_t ip_id_of(const bytes& frame) {
    return load_be16(std::span(frame).subspan(ethernet::header_length + ipv4::field::identification));
}

} // namespace coronet::testing
