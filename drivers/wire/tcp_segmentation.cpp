#include "drivers/wire/tcp_segmentation.hpp"

#include "framework/net/byte_order.hpp"

namespace coronet {

namespace {

constexpr std::size_t ethernet_bytes = 14;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint8_t protocol_tcp = 6;

// IPv4 header fields (RFC 791 §3.1), from the start of the IP header.
constexpr std::size_t ip_total_length = 2;
constexpr std::size_t ip_identification = 4;
constexpr std::size_t ip_protocol = 9;
constexpr std::size_t ip_checksum = 10;
constexpr std::size_t ip_source = 12;
// TCP header fields (RFC 9293 §3.1), from the start of the TCP header.
constexpr std::size_t tcp_sequence = 4;
constexpr std::size_t tcp_data_offset = 12;
constexpr std::size_t tcp_flags = 13;
constexpr std::size_t tcp_checksum = 16;
constexpr auto flag_fin = std::byte{0x01};
constexpr auto flag_psh = std::byte{0x08};
constexpr auto flag_cwr = std::byte{0x80};

std::uint16_t fold(std::uint32_t sum) noexcept {
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

// The one's complement sum of big-endian words (RFC 1071); `bytes` has an even length here.
std::uint32_t sum_words(std::span<const std::byte> bytes) noexcept {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += load_be16(bytes.subspan(i));
    return sum;
}

} // namespace

result<tso_layout> parse_tso(const packet& frame) {
    const auto& o = frame.meta().offload;
    if ((o.gso_type & ~packet_offload::gso_ecn) != packet_offload::gso_tcpv4 || o.gso_size == 0 ||
        (o.flags & packet_offload::needs_csum) == 0)
        return error{EINVAL};
    std::byte bytes[ethernet_bytes + 60 + 60];
    const std::size_t seen = std::min(sizeof bytes, frame.length());
    if (seen < ethernet_bytes + 20 + 20) return error{EINVAL};
    if (auto r = frame.copy_out(0, std::span(bytes, seen)); !r) return error{r.error()};

    const std::span<const std::byte> all(bytes, seen);
    if (load_be16(all.subspan(12)) != ethertype_ipv4) return error{EINVAL};
    const auto ip = all.subspan(ethernet_bytes);
    const std::size_t ihl = (std::to_integer<std::size_t>(ip[0]) & 0x0f) * 4;
    if ((std::to_integer<unsigned>(ip[0]) >> 4) != 4 || ihl < 20 ||
        std::to_integer<std::uint8_t>(ip[ip_protocol]) != protocol_tcp ||
        load_be16(ip.subspan(ip_total_length)) != frame.length() - ethernet_bytes)
        return error{EINVAL};
    tso_layout l;
    l.tcp_offset = ethernet_bytes + ihl;
    if (l.tcp_offset + 20 > seen) return error{EINVAL};
    const std::size_t doff =
        (std::to_integer<std::size_t>(all[l.tcp_offset + tcp_data_offset]) >> 4) * 4;
    l.header_bytes = l.tcp_offset + doff;
    if (doff < 20 || l.header_bytes > seen || l.header_bytes != o.hdr_len ||
        o.csum_start != l.tcp_offset || o.csum_offset != tcp_checksum ||
        frame.length() <= l.header_bytes)
        return error{EINVAL};
    l.payload_bytes = frame.length() - l.header_bytes;
    l.mss = o.gso_size;
    return l;
}

void fix_segment_headers(std::span<std::byte> headers, const tso_layout& layout, std::size_t index,
                         std::size_t payload_bytes, bool last) noexcept {
    const auto ip = headers.subspan(ethernet_bytes, layout.tcp_offset - ethernet_bytes);
    const auto tcp = headers.subspan(layout.tcp_offset);
    const std::size_t tcp_length = tcp.size() + payload_bytes;

    store_be16(ip.subspan(ip_total_length), static_cast<std::uint16_t>(ip.size() + tcp_length));
    store_be16(ip.subspan(ip_identification),
               static_cast<std::uint16_t>(load_be16(ip.subspan(ip_identification)) + index));
    store_be16(ip.subspan(ip_checksum), 0);
    store_be16(ip.subspan(ip_checksum), static_cast<std::uint16_t>(~fold(sum_words(ip))));

    store_be32(tcp.subspan(tcp_sequence),
               static_cast<std::uint32_t>(load_be32(tcp.subspan(tcp_sequence)) + index * layout.mss));
    if (!last) tcp[tcp_flags] &= ~(flag_fin | flag_psh);
    if (index > 0) tcp[tcp_flags] &= ~flag_cwr;
    // The pseudo-header (RFC 9293 §3.1): addresses, protocol, TCP length; the NIC adds the
    // rest and complements (needs_csum).
    const std::uint32_t pseudo =
        sum_words(ip.subspan(ip_source, 8)) + protocol_tcp + static_cast<std::uint32_t>(tcp_length);
    store_be16(tcp.subspan(tcp_checksum), fold(pseudo));
}

} // namespace coronet
