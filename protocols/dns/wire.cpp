#include "protocols/dns/wire.hpp"

#include "framework/net/byte_order.hpp"

#include <cctype>

namespace coronet::dns {

namespace {

// Header fields (§4.1.1), by offset.
constexpr std::size_t id_at = 0, flags_at = 2, qdcount_at = 4, ancount_at = 6, nscount_at = 8,
                      arcount_at = 10;
// A record's fixed part after its name: type, class, TTL, RDLENGTH.
constexpr std::size_t record_fixed_size = 10;
constexpr std::uint8_t pointer_tag = 0xc0;

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Reads a possibly compressed name at `at`; `end` becomes the offset just past it where it
// started (past its first pointer, if any).
result<std::string> read_name(std::span<const std::byte> m, std::size_t at, std::size_t& end) {
    std::string name;
    std::size_t wire_size = 1; // the root's zero byte
    int jumps = 0;
    bool jumped = false;
    for (;;) {
        if (at >= m.size()) return error{EBADMSG};
        const auto len = std::to_integer<std::uint8_t>(m[at]);
        if ((len & pointer_tag) == pointer_tag) {
            if (at + 1 >= m.size()) return error{EBADMSG};
            const std::size_t target =
                (std::size_t{len & 0x3fu} << 8) | std::to_integer<std::uint8_t>(m[at + 1]);
            // Backwards only, and a bounded number: no loop, no unbounded chain.
            if (target >= at || ++jumps > max_pointer_jumps) return error{EBADMSG};
            if (!jumped) end = at + 2;
            jumped = true;
            at = target;
            continue;
        }
        if ((len & pointer_tag) != 0) return error{EBADMSG}; // 0x40, 0x80: reserved (§4.1.4)
        if (len == 0) {
            if (!jumped) end = at + 1;
            return name;
        }
        wire_size += 1 + len;
        if (wire_size > max_name_size || at + 1 + len > m.size()) return error{EBADMSG};
        if (!name.empty()) name += '.';
        for (std::size_t i = 0; i < len; ++i) {
            const char c = static_cast<char>(m[at + 1 + i]);
            if (c == '.') return error{EBADMSG}; // "a.b" in one label would pass for two
            name += lower(c);
        }
        at += 1 + len;
    }
}

void put16(std::vector<std::byte>& out, std::uint16_t v) {
    out.push_back(static_cast<std::byte>(v >> 8));
    out.push_back(static_cast<std::byte>(v));
}

result<> put_name(std::vector<std::byte>& out, std::string_view name) {
    auto n = normalize(name);
    if (!n) return error{n.error()};
    std::string_view rest = *n;
    while (!rest.empty()) {
        const auto dot = rest.find('.');
        const auto label = rest.substr(0, dot);
        out.push_back(static_cast<std::byte>(label.size()));
        for (char c : label)
            out.push_back(static_cast<std::byte>(c));
        rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    }
    out.push_back(std::byte{0});
    return {};
}

std::uint16_t encode(const flags& f) {
    return static_cast<std::uint16_t>(
        (f.response ? 0x8000 : 0) | (f.opcode & 0xf) << 11 | (f.authoritative ? 0x400 : 0) |
        (f.truncated ? 0x200 : 0) | (f.recursion_desired ? 0x100 : 0) |
        (f.recursion_available ? 0x80 : 0) | (static_cast<int>(f.rcode) & 0xf));
}

flags decode(std::uint16_t v) {
    return {.response = (v & 0x8000) != 0,
            .opcode = static_cast<std::uint8_t>(v >> 11 & 0xf),
            .authoritative = (v & 0x400) != 0,
            .truncated = (v & 0x200) != 0,
            .recursion_desired = (v & 0x100) != 0,
            .recursion_available = (v & 0x80) != 0,
            .rcode = static_cast<rcode>(v & 0xf)};
}

} // namespace

result<std::string> normalize(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    // Each label costs its bytes and a length byte, plus the root's zero byte.
    if (name.empty() || name.size() + 2 > max_name_size) return error{EINVAL};
    std::string out;
    out.reserve(name.size());
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return error{EINVAL};
            label = 0;
        } else if (++label > max_label_size) {
            return error{EINVAL};
        }
        out += lower(c);
    }
    if (label == 0) return error{EINVAL};
    return out;
}

result<message> parse(std::span<const std::byte> m) {
    if (m.size() < header_size) return error{EBADMSG};
    message out;
    out.id = load_be16(m.subspan(id_at));
    out.flags = decode(load_be16(m.subspan(flags_at)));
    const std::uint16_t qdcount = load_be16(m.subspan(qdcount_at));
    const std::uint16_t ancount = load_be16(m.subspan(ancount_at));
    out.authority_count = load_be16(m.subspan(nscount_at));
    out.additional_count = load_be16(m.subspan(arcount_at));
    std::size_t at = header_size;
    // Each question takes at least 5 bytes and each record 11: a count the message cannot
    // hold is refused before anything is reserved for it.
    if (qdcount * std::size_t{5} + ancount * std::size_t{11} > m.size() - at) return error{EBADMSG};
    for (std::uint16_t i = 0; i < qdcount; ++i) {
        auto name = read_name(m, at, at);
        if (!name || at + 4 > m.size()) return error{EBADMSG};
        out.questions.push_back(
            {std::move(*name), load_be16(m.subspan(at)), load_be16(m.subspan(at + 2))});
        at += 4;
    }
    for (std::uint16_t i = 0; i < ancount; ++i) {
        auto name = read_name(m, at, at);
        if (!name || at + record_fixed_size > m.size()) return error{EBADMSG};
        const std::uint16_t type = load_be16(m.subspan(at));
        const std::uint16_t klass = load_be16(m.subspan(at + 2));
        const std::uint32_t ttl = load_be32(m.subspan(at + 4));
        const std::uint16_t rdlength = load_be16(m.subspan(at + 8));
        at += record_fixed_size;
        if (at + rdlength > m.size()) return error{EBADMSG};
        const auto rdata_end = at + rdlength;
        if (klass == class_in && type == static_cast<std::uint16_t>(record_type::a)) {
            if (rdlength != ipv4_address::size) return error{EBADMSG};
            out.answers.push_back({.name = std::move(*name),
                                   .type = record_type::a,
                                   .ttl = ttl,
                                   .address = ipv4_address::from_bytes(m.subspan(at))});
        } else if (klass == class_in && type == static_cast<std::uint16_t>(record_type::cname)) {
            std::size_t target_end = 0;
            auto target = read_name(m, at, target_end);
            if (!target || target_end != rdata_end) return error{EBADMSG};
            out.answers.push_back({.name = std::move(*name),
                                   .type = record_type::cname,
                                   .ttl = ttl,
                                   .target = std::move(*target)});
        }
        at = rdata_end;
    }
    return out;
}

result<std::vector<std::byte>> emit(const message& m) {
    std::vector<std::byte> out;
    put16(out, m.id);
    put16(out, encode(m.flags));
    put16(out, static_cast<std::uint16_t>(m.questions.size()));
    put16(out, static_cast<std::uint16_t>(m.answers.size()));
    put16(out, 0); // authority and additional records are not written
    put16(out, 0);
    for (const auto& q : m.questions) {
        if (auto r = put_name(out, q.name); !r) return error{r.error()};
        put16(out, q.type);
        put16(out, q.klass);
    }
    for (const auto& a : m.answers) {
        if (auto r = put_name(out, a.name); !r) return error{r.error()};
        put16(out, static_cast<std::uint16_t>(a.type));
        put16(out, class_in);
        put16(out, static_cast<std::uint16_t>(a.ttl >> 16));
        put16(out, static_cast<std::uint16_t>(a.ttl));
        const auto length_at = out.size();
        put16(out, 0);
        if (a.type == record_type::a) {
            for (auto o : a.address.octets())
                out.push_back(static_cast<std::byte>(o));
        } else if (auto r = put_name(out, a.target); !r) {
            return error{r.error()};
        }
        store_be16(std::span(out).subspan(length_at),
                   static_cast<std::uint16_t>(out.size() - length_at - 2));
    }
    if (out.size() > max_udp_size) return error{EMSGSIZE};
    return out;
}

result<std::vector<std::byte>> emit_query(std::uint16_t id, std::string_view name) {
    message q{.id = id, .flags = {.recursion_desired = true}, .questions = {{std::string(name)}}};
    return emit(q);
}

} // namespace coronet::dns
