#pragma once
// A simulated multi-core host on shard_group (shard_mode::simulated): a plain client host and
// a server host of N shards on one wire, the server behind a multiqueue_port that steers
// received frames as Linux's tun does. Group shard 0 is the outside (the wire, the port's NIC
// and the client host); server shard i is group shard i + 1, with its stack, NIC queue and
// pool on that shard's scheduler, forwarding to the other server shards with a real
// try_post. Every shard has its own scheduler on the group's one virtual clock, stepped in
// shard order: a run replays byte for byte from its seed.
//
// Build it inside the group's run, on shard 0 (the schedulers live only while run does), and
// destroy it there too. The pools (`shard_host_buffers`) outlive it: frames of any pool may
// still sit on the wire when the host goes.
#include "drivers/wire/multiqueue.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/shard/shard.hpp"
#include "framework/shard/submit.hpp"
#include "protocols/stack/native_stack.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace coronet::sim {

struct shard_host_buffers {
    static constexpr buffer_pool_options size{.buffer_size = 2048, .buffer_count = 4096};
    explicit shard_host_buffers(unsigned server_shards) {
        for (unsigned i = 0; i < server_shards; ++i)
            pools.push_back(std::make_unique<buffer_pool>(size));
    }
    buffer_pool client{size};
    buffer_pool port{size};
    std::vector<std::unique_ptr<buffer_pool>> pools; // one per server shard
};

struct shard_host_config {
    ipv4_prefix client_address;
    ipv4_prefix server_address;
    std::uint64_t seed = 1;
    wire_config link{.latency = std::chrono::milliseconds(1), .bandwidth_bps = 1'000'000'000};
};

class shard_host {
public:
    static constexpr mac_address client_mac{0x02, 0, 0, 0x01, 0, 0x01};
    static constexpr mac_address server_mac{0x02, 0, 0, 0, 0x5e, 0x01};

    shard_host(shard_group& group, shard_host_buffers& buffers, shard_host_config config)
        : group_(group), count(static_cast<unsigned>(buffers.pools.size())) {
        if (group.size() != count + 1)
            throw std::invalid_argument(
                "shard_host: the group needs one shard per server shard + 1");
        config.link.seed = config.seed ^ 0x77697265;
        link = std::make_unique<wire>(group.at(0).sched(), config.link);
        native::options co;
        co.pool = &buffers.client;
        co.seed = config.seed ^ 0x636c69656e74;
        client_stack =
            std::make_unique<native::native_stack>(group.at(0).sched(), client_counters, co);
        client_stack->add_interface(link->attach(client_counters,
                                                 nic_config{.name = "eth0", .mac = client_mac},
                                                 buffers.client),
                                    config.client_address);

        std::vector<queue_setup> queues;
        for (unsigned i = 0; i < count; ++i) {
            registries.push_back(std::make_unique<counter_registry>());
            queues.push_back({registries.back().get(), buffers.pools[i].get(), &sched_of(i)});
        }
        port = std::make_unique<multiqueue_port>(
            *link, port_registry, nic_config{.name = "eth0", .mac = server_mac}, buffers.port,
            queues, multiqueue_options{.seed = config.seed ^ 0x7175657565});
        for (unsigned i = 0; i < count; ++i) {
            scheduler::activation on(sched_of(i));
            native::options o;
            o.pool = buffers.pools[i].get();
            o.seed = config.seed;
            stacks.push_back(
                std::make_unique<native::native_stack>(sched_of(i), *registries[i], o));
        }
        for (unsigned i = 0; i < count; ++i) {
            scheduler::activation on(sched_of(i));
            stacks[i]->set_steering(i, count,
                                    [this](unsigned to, std::span<const std::byte> f,
                                           const packet_offload& o) { return forward(to, f, o); });
            stacks[i]->add_interface(port->queue(i), config.server_address);
        }
    }
    ~shard_host() {
        client_stack.reset();
        for (unsigned i = 0; i < count; ++i) {
            scheduler::activation on(sched_of(i));
            stacks[i].reset(); // before the queues they are attached to
        }
        port.reset();
        link.reset();
    }
    shard_host(const shard_host&) = delete;
    shard_host& operator=(const shard_host&) = delete;

    // The group shard that server shard i runs on.
    static unsigned group_shard(unsigned i) noexcept { return i + 1; }
    scheduler& sched_of(unsigned i) { return group_.at(group_shard(i)).sched(); }
    native::native_stack& client() noexcept { return *client_stack; }

    // 0 with one server shard: its stack does no steering and has no such counters.
    std::uint64_t shard_counter(unsigned i, const char* name) const {
        const auto* stats = stacks[i]->steering_stats();
        return stats == nullptr ? 0 : stats->group.find(name)->value;
    }
    std::uint64_t sum(const char* name) const {
        std::uint64_t n = 0;
        for (unsigned i = 0; i < count; ++i)
            n += shard_counter(i, name);
        return n;
    }

private:
    // On server shard `from`'s turn: a copy of the frame to server shard `to`, refused (the
    // stack drops and counts) when that shard's post room is full.
    bool forward(unsigned to, std::span<const std::byte> frame, const packet_offload& offload) {
        std::vector<std::byte> bytes(frame.begin(), frame.end());
        native::native_stack* target = stacks.at(to).get();
        return try_post(group_shard(to), [target, bytes = std::move(bytes), offload] {
            target->inject(0, bytes, offload);
        });
    }

    shard_group& group_;

public:
    unsigned count; // server shards
    counter_registry client_counters;
    counter_registry port_registry;
    std::vector<std::unique_ptr<counter_registry>> registries; // per server shard
    std::unique_ptr<wire> link;
    std::unique_ptr<native::native_stack> client_stack;
    std::unique_ptr<multiqueue_port> port;
    std::vector<std::unique_ptr<native::native_stack>> stacks; // per server shard
};

} // namespace coronet::sim
