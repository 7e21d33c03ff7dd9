#include "protocols/stack/native_stack.hpp"

#include "protocols/arp/wire.hpp"
#include "protocols/tcp/socket_rows.hpp"
#include "protocols/udp/socket_rows.hpp"

#include <random>
#include <string>

namespace coronet::native {

// --- interface ---

interface::interface(native_stack& stack, ipv4::interface_id id, nic& card, ipv4_prefix address)
    : stack_(stack), id_(id), card_(card), address_(address), filter_(card.mac()),
      arp_(stack.sched(), *this, stack.stats().arp, stack.opts().arp, stack.opts().seed,
           stack.memory()),
      tx_room_(card.tx_ready(), &on_tx_room, this) {
    arp_.set_address(address.address(), card.mac());
}

interface::~interface() { card_.attach(nullptr); }

result<> interface::push(packet&& frame) {
    stack_.input(*this, std::move(frame));
    return {};
}

void interface::send_arp(const arp::repr& r, mac_address destination) {
    auto p = packet::allocate(stack_.pool());
    if (!p) {
        ++stack_.stats().ethernet.out_errors;
        return;
    }
    auto bytes = p->push_header(arp::packet_length);
    if (!bytes) {
        ++stack_.stats().ethernet.out_errors;
        return;
    }
    arp::emit(r, *bytes);
    if (stack_.tracing())
        stack_.trace("arp", "tx",
                     std::string(r.operation == arp::operation::request ? "who-has " : "reply ") +
                         to_string(r.target_ip) + " tell " + to_string(r.sender_ip));
    (void)stack_.transmit(*this, std::move(*p), destination, ethernet::ethertype::arp);
}

void interface::send_resolved(packet&& ip_packet, mac_address mac) {
    (void)stack_.transmit(*this, std::move(ip_packet), mac, ethernet::ethertype::ipv4);
}

void interface::unreachable(const packet& ip_packet) { stack_.report_unreachable(ip_packet); }

void interface::on_tx_room(void* self) { static_cast<interface*>(self)->stack_.tcp().transmit_room(); }

// --- native_stack ---

namespace {
std::unique_ptr<buffer_pool> make_pool(const options& o) {
    return o.pool != nullptr ? nullptr : std::make_unique<buffer_pool>(o.pool_options);
}
} // namespace

native_stack::native_stack(scheduler& sched, counter_registry& registry, options opts)
    : sched_(sched), registry_(registry), opts_(opts), own_pool_(make_pool(opts)),
      pool_(opts.pool != nullptr ? opts.pool : own_pool_.get()), stats_(registry),
      memory_(registry, opts.memory.hard != 0
                            ? opts.memory
                            : memory_limits::from_pool(pool_->buffer_count(), pool_->reserve())),
      reassembly_(sched, stats_.ipv4, opts.reassembly,
                  [this](std::span<const std::byte> quote) {
                      // RFC 792: time exceeded, code 1, "fragment reassembly time exceeded".
                      const auto src = ipv4::view::unchecked(quote).source();
                      if (auto from = source_for(src))
                          send_icmp_error(icmp::message::time_exceeded, icmp::exceeded::reassembly,
                                          quote, *from);
                  },
                  opts.seed, &memory_),
      idents_(opts.seed), icmp_limit_(opts.icmp_errors, sched.now()),
      udp_(*this, stats_.udp,
           [&] {
               auto u = opts.udp;
               u.seed ^= opts.seed;
               return u;
           }()),
      tcp_(static_cast<tcp::network&>(*this), sched, stats_.tcp,
           [&] {
               auto t = opts.tcp;
               t.seed ^= opts.seed;
               return t;
           }()),
      ping_identifier_(static_cast<std::uint16_t>(std::mt19937(static_cast<unsigned>(opts.seed))())) {}

native_stack::~native_stack() {
    // Sockets may outlive the stack (a process still holds them): cut them loose first, then
    // drop every packet held (ARP queues, fragments) while the pool is still there.
    pings_.clear();
    interfaces_.clear();
}

result<ref<socket_object>> native_stack::socket(socket_type type) {
    if (type == socket_type::stream) return tcp_.open();
    return udp_.open();
}

result<std::vector<socket_row>> native_stack::socket_rows() const {
    auto rows = tcp::socket_rows(tcp_);
    for (auto& r : udp::socket_rows(udp_))
        rows.push_back(std::move(r));
    return rows;
}

interface_id native_stack::add_interface(nic& card, ipv4_prefix address_with_prefix) {
    const interface_id id = interfaces_.size();
    interfaces_.push_back(std::make_unique<interface>(*this, id, card, address_with_prefix));
    card.attach(interfaces_.back().get());
    routes_.add({address_with_prefix, ipv4_any, id});
    // RFC 5227 §2.3: announce the address, so that caches holding an old mapping update.
    interfaces_.back()->arp().announce();
    return id;
}

void native_stack::add_route(ipv4_prefix destination, ipv4_address gateway, interface_id via) {
    routes_.add({destination, gateway, via});
}

result<> native_stack::set_default_gateway(ipv4_address gateway) {
    for (const auto& i : interfaces_)
        if (i->address().contains(gateway)) {
            routes_.add({ipv4_prefix{}, gateway, i->id()});
            return {};
        }
    return error{ENETUNREACH};
}

bool native_stack::is_local(ipv4_address a) const noexcept { return local_interface(a) != nullptr; }

interface* native_stack::local_interface(ipv4_address a) const noexcept {
    for (const auto& i : interfaces_)
        if (i->address().address() == a) return i.get();
    return nullptr;
}

void native_stack::trace(std::string_view layer, std::string_view direction, std::string_view what) {
    std::string line;
    line.reserve(layer.size() + direction.size() + what.size() + 2);
    line.append(layer).append(" ").append(direction).append(" ").append(what);
    trace_(line);
}

} // namespace coronet::native
