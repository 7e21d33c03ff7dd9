#pragma once
// A host of N shards for steering tests, all on the world's one thread and virtual clock: N
// native stacks with one address, MAC and seed, each on its own queue of a multiqueue_port,
// forwarding to each other through bounded mailboxes that a DPC drains (what the shard
// group's try_post does between threads). The shards share the world's scheduler.
//
// Lifetimes: the buffers (`host_buffers`) must be declared before the world, so that frames
// of the shards' pools still on the wire when the world goes find them there.
#include "drivers/wire/multiqueue.hpp"
#include "protocols/sim/world.hpp"

#include <deque>
#include <memory>
#include <vector>

namespace coronet::steer_test {

inline constexpr buffer_pool_options pool_size{.buffer_size = 2048, .buffer_count = 4096};

struct host_buffers {
    explicit host_buffers(unsigned shards) {
        for (unsigned i = 0; i < shards; ++i)
            pools.push_back(std::make_unique<buffer_pool>(pool_size));
    }
    buffer_pool port{pool_size};
    std::vector<std::unique_ptr<buffer_pool>> pools;
};

// Frames on their way to one shard: a bounded queue, drained by a DPC into inject().
class mailbox {
public:
    mailbox(scheduler& s, native::native_stack& to, std::size_t capacity)
        : sched_(s), to_(to), capacity_(capacity) {}
    bool post(std::span<const std::byte> frame, const packet_offload& offload) {
        if (refuse > 0) {
            --refuse;
            return false;
        }
        if (frames_.size() >= capacity_) return false;
        frames_.push_back({{frame.begin(), frame.end()}, offload});
        sched_.queue_dpc(dpc_);
        return true;
    }
    unsigned refuse = 0; // the next posts refused, as a full queue would

private:
    struct message {
        std::vector<std::byte> bytes;
        packet_offload offload;
    };
    struct drain final : dpc {
        explicit drain(mailbox* m) : dpc(&run), box(m) {}
        static bool run(dpc* d, unsigned budget) {
            auto& m = *static_cast<drain*>(d)->box;
            for (unsigned i = 0; i < budget && !m.frames_.empty(); ++i) {
                auto msg = std::move(m.frames_.front());
                m.frames_.pop_front();
                m.to_.inject(0, msg.bytes, msg.offload);
            }
            return !m.frames_.empty();
        }
        mailbox* box;
    };
    scheduler& sched_;
    native::native_stack& to_;
    std::size_t capacity_;
    std::deque<message> frames_;
    drain dpc_{this};
};

struct sharded_host {
    static constexpr mac_address mac{0x02, 0, 0, 0, 0x5e, 0x01};

    sharded_host(sim::world& w, wire& link, host_buffers& buffers, ipv4_prefix address,
                 std::uint64_t seed, std::size_t mailbox_capacity = 1024)
        : count(static_cast<unsigned>(buffers.pools.size())) {
        std::vector<queue_setup> queues;
        for (unsigned i = 0; i < count; ++i) {
            registries.push_back(std::make_unique<counter_registry>());
            queues.push_back({registries.back().get(), buffers.pools[i].get()});
        }
        port = std::make_unique<multiqueue_port>(
            link, port_registry, nic_config{.name = "eth0", .mac = mac}, buffers.port, queues,
            multiqueue_options{.seed = seed ^ 0x7175657565});
        for (unsigned i = 0; i < count; ++i) {
            native::options o;
            o.pool = buffers.pools[i].get();
            o.seed = seed;
            stacks.push_back(std::make_unique<native::native_stack>(w.sched(), *registries[i], o));
        }
        for (unsigned i = 0; i < count; ++i)
            boxes.push_back(std::make_unique<mailbox>(w.sched(), *stacks[i], mailbox_capacity));
        for (unsigned i = 0; i < count; ++i) {
            stacks[i]->set_steering(
                i, count,
                [this](unsigned to, std::span<const std::byte> f, const packet_offload& o) {
                    return boxes[to]->post(f, o);
                });
            stacks[i]->add_interface(port->queue(i), address);
        }
    }
    ~sharded_host() {
        boxes.clear();
        stacks.clear(); // before the queues they are attached to
        port.reset();
    }
    std::uint64_t shard_counter(unsigned i, const char* name) const {
        const auto* s = stacks[i]->steering_stats();
        return s->group.find(name)->value;
    }
    std::uint64_t sum(const char* name) const {
        std::uint64_t n = 0;
        for (unsigned i = 0; i < count; ++i)
            n += shard_counter(i, name);
        return n;
    }

    unsigned count;
    counter_registry port_registry;
    std::vector<std::unique_ptr<counter_registry>> registries;
    std::unique_ptr<multiqueue_port> port;
    std::vector<std::unique_ptr<native::native_stack>> stacks;
    std::vector<std::unique_ptr<mailbox>> boxes;
};

} // namespace coronet::steer_test
