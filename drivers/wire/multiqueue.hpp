#pragma once
// multiqueue_port: one host port on an in-memory wire (one NIC, one MAC) with N queues, each a
// NIC of its own that one shard's stack attaches to: what a multi-queue TAP device
// (IFF_MULTI_QUEUE, one file descriptor per queue) gives a host of N shards.
//
// Which queue receives a frame follows Linux's tun (drivers/net/tun.c, tun_automq_select_queue):
//  - the flow's hash is symmetric (both directions of a flow agree; as tun's
//    __skb_get_hash_symmetric): the two IPv4 addresses, the protocol and, for TCP and UDP not
//    fragmented, the two ports; fragments hash on addresses and protocol only, so every
//    fragment of a datagram lands on one queue;
//  - the flow table: every frame a queue transmits records its flow's hash -> that queue
//    (tun_flow_update), so a connection's packets come back to the shard that answered it;
//    bounded to max_flows entries, as tun's MAX_TAP_FLOWS; tun ages entries out after 3 s
//    idle, this table keeps them (a test's flows are few);
//  - a flow not in the table goes to hash % N; a frame that is not IPv4 (ARP) by a hash of
//    its source MAC.
// The hash key comes from the seed: the same seed, the same queues, so runs replay.
//
// Each queue receives into buffers of its own pool (its shard's), copied from the port's as
// a NIC's DMA would write into the ring of that queue; the copy is counted. Transmit goes out
// through the port (no copy); ENOBUFS from the port's queue comes back to the sender, and every
// queue's tx_ready() wakes when the port has room again.
//
// Lifetime: the wire holds the port's NIC; the port and its queues must go before the wire
// (their stacks first), the pools last.
#include "drivers/wire/frame_ring.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/wake_relay.hpp"

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace coronet {

class multiqueue_port;

// One queue: a NIC whose frames come from and go to the port.
class queue_nic final : public nic {
public:
    queue_nic(multiqueue_port& port, scheduler& sched, unsigned index, counter_registry& registry,
              nic_config config, buffer_pool& pool, std::uint32_t ring_size);
    unsigned index() const noexcept { return index_; }
    buffer_pool& pool() const noexcept { return pool_; }

protected:
    ~queue_nic() override = default;
    result<> driver_transmit(packet&& frame) override;
    bool driver_poll(unsigned budget) override;

private:
    friend class multiqueue_port;
    bool receive(packet&& frame); // false: the ring is full
    void room() noexcept { tx_space_available(); }

    multiqueue_port* port_;
    unsigned index_;
    buffer_pool& pool_;
    frame_ring ring_;
};

struct queue_setup {
    counter_registry* registry; // the shard's: the queue's NIC counters go there
    buffer_pool* pool;          // the shard's: received frames are copied into it
    // The shard's: the queue's interrupt and polling run there. Null: the wire's scheduler
    // (every shard on one scheduler). Simulated shards (shard_group) are all on one thread,
    // so the port hands frames to a queue of another scheduler directly.
    scheduler* sched = nullptr;
};

struct multiqueue_options {
    std::uint64_t seed = 1;
    std::uint32_t rx_ring_size = 256; // per queue
    std::size_t max_flows = 4096;     // tun's MAX_TAP_FLOWS
};

// A flow as the port's hash sees it; the order of the two ends does not matter.
struct flow_key {
    endpoint a;
    endpoint b;
    std::uint8_t protocol = 6; // IPPROTO_TCP
};

class multiqueue_port {
public:
    // The port's NIC goes on `w` with `config` (its MAC is every queue's), its counters and
    // the port's in `registry`, its received frames first in `port_pool`. Queue i is named
    // config.name + "q" + i.
    multiqueue_port(wire& w, counter_registry& registry, nic_config config, buffer_pool& port_pool,
                    std::span<const queue_setup> queues, multiqueue_options options = {});
    ~multiqueue_port();
    multiqueue_port(const multiqueue_port&) = delete;
    multiqueue_port& operator=(const multiqueue_port&) = delete;

    unsigned queue_count() const noexcept { return static_cast<unsigned>(queues_.size()); }
    queue_nic& queue(unsigned i) const { return *queues_.at(i); }
    wire_nic& port() const noexcept { return port_; }

    // Where a frame of `f` would go now: the flow table's queue, else the hash's.
    unsigned queue_for(const flow_key& f) const;
    // Where the hash alone puts it (a flow the port has not seen sent).
    unsigned hash_queue(const flow_key& f) const noexcept;
    // Points the flow at queue `q`, as if q had just sent on it (the kernel moving a flow).
    void steer(const flow_key& f, unsigned q);
    std::size_t flows() const noexcept { return flows_.size(); }

    struct counters {
        counters(counter_registry& r, const std::string& name) : group(r, name) {}
        counter_group group;
        counter& rx_by_flow_table = group.declare("rx_by_flow_table");
        counter& rx_by_hash = group.declare("rx_by_hash");
        counter& rx_dropped_no_buffer = group.declare("rx_dropped_no_buffer"); // queue pool or ring
        counter& bytes_copied = group.declare("bytes_copied"); // into the queues' pools
        counter& flow_table_full = group.declare("flow_table_full");
    };
    const counters& stats() const noexcept { return stats_; }

private:
    friend class queue_nic;
    // The port NIC's receiver: picks the queue of each frame.
    struct dispatcher final : frame_sink {
        multiqueue_port* self;
        explicit dispatcher(multiqueue_port* p) : self(p) {}
        result<> push(packet&& frame) override;
    };
    result<> transmit(unsigned from, packet&& frame);
    std::uint32_t frame_hash(const packet& frame) const noexcept;
    std::uint32_t flow_hash(const flow_key& f) const noexcept;
    void learn(std::uint32_t hash, unsigned q);
    static void on_room(void* self);

    wire_nic& port_;
    multiqueue_options options_;
    counters stats_;
    dispatcher dispatch_{this};
    std::vector<ref<queue_nic>> queues_;
    std::unordered_map<std::uint32_t, unsigned> flows_; // hash -> queue
    wake_relay room_;
};

} // namespace coronet
