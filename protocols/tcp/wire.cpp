#include "protocols/tcp/wire.hpp"

#include <algorithm>
#include <cerrno>

namespace coronet::tcp {

namespace {
constexpr reason_table<parse_error, parse_error_count> reasons{{{
    {"ok", 0},
    {"truncated", ENODATA},
    {"bad_data_offset", EINVAL},
    {"oversize", EINVAL},
    {"bad_checksum", EBADMSG},
    {"bad_option_length", EINVAL},
    {"option_overrun", EINVAL},
}}};
static_assert(!reasons.rows[parse_error_count - 1].name.empty(), "a row for every parse_error");
} // namespace

int to_errno(parse_error e) noexcept { return reasons.to_errno(e); }
std::string_view name(parse_error e) noexcept { return reasons.name(e); }

// MSS 4; timestamps 10 after SACK-permitted or two NOPs: 12; SACK-permitted alone after two
// NOPs: 4; window scale after one NOP: 4; SACK after two NOPs: 4 + 8 per block.
std::size_t options::length() const noexcept {
    std::size_t n = mss ? 4 : 0;
    n += timestamps ? 12 : sack_permitted ? 4 : 0;
    n += window_scale ? 4 : 0;
    n += sack_count != 0 ? 4 + std::size_t{option_length::sack_block} * sack_count : 0;
    return n;
}

bool operator==(const options& a, const options& b) noexcept {
    return a.mss == b.mss && a.window_scale == b.window_scale &&
           a.sack_permitted == b.sack_permitted && a.timestamps == b.timestamps &&
           std::ranges::equal(a.sacks(), b.sacks());
}

parse_result<tcp::options, parse_error> read_options(std::span<const std::byte> area) noexcept {
    tcp::options o;
    std::size_t i = 0;
    while (i < area.size()) {
        const auto kind = std::to_integer<std::uint8_t>(area[i]);
        if (kind == option_kind::end) break; // RFC 9293 §3.1: the end of the option list
        if (kind == option_kind::nop) {
            ++i;
            continue;
        }
        // Every other option is kind, length (counting kind and length), data.
        if (i + 1 >= area.size()) return parse_error::option_overrun;
        const std::size_t len = std::to_integer<std::uint8_t>(area[i + 1]);
        if (len < 2) return parse_error::bad_option_length;
        if (len > area.size() - i) return parse_error::option_overrun;
        const auto data = area.subspan(i + 2, len - 2);
        switch (kind) {
        case option_kind::mss:
            if (len != option_length::mss) return parse_error::bad_option_length;
            o.mss = load_be16(data);
            break;
        case option_kind::window_scale:
            if (len != option_length::window_scale) return parse_error::bad_option_length;
            o.window_scale = std::to_integer<std::uint8_t>(data[0]);
            break;
        case option_kind::sack_permitted:
            if (len != option_length::sack_permitted) return parse_error::bad_option_length;
            o.sack_permitted = true;
            break;
        case option_kind::sack: {
            // RFC 2018 §3: length 2 + 8n; 40 bytes of options leave room for n <= 4.
            const std::size_t blocks = (len - option_length::sack_base) / option_length::sack_block;
            if (len < option_length::sack_base + option_length::sack_block ||
                (len - option_length::sack_base) % option_length::sack_block != 0 ||
                blocks > max_sack_blocks)
                return parse_error::bad_option_length;
            for (std::size_t b = 0; b < blocks; ++b)
                o.sack_blocks[b] = {load_be32(data.subspan(8 * b)),
                                    load_be32(data.subspan(8 * b + 4))};
            o.sack_count = static_cast<std::uint8_t>(blocks);
            break;
        }
        case option_kind::timestamps:
            if (len != option_length::timestamps) return parse_error::bad_option_length;
            o.timestamps = tcp::timestamps{load_be32(data), load_be32(data.subspan(4))};
            break;
        default: // RFC 9293 §3.1: an unknown option is skipped by its length
            break;
        }
        i += len;
    }
    return o;
}

namespace {

class option_writer {
public:
    explicit option_writer(std::span<std::byte> out) noexcept : out_(out) {}
    void u8(std::uint8_t v) noexcept { out_[at_++] = std::byte{v}; }
    void u16(std::uint16_t v) noexcept {
        store_be16(out_.subspan(at_), v);
        at_ += 2;
    }
    void u32(std::uint32_t v) noexcept {
        store_be32(out_.subspan(at_), v);
        at_ += 4;
    }
    std::size_t written() const noexcept { return at_; }

private:
    std::span<std::byte> out_;
    std::size_t at_ = 0;
};

} // namespace

std::size_t write_options(const tcp::options& o, std::span<std::byte> out) {
    const std::size_t length = o.length();
    wire_format::require(length <= max_options_length, "tcp::write_options: options above 40 bytes");
    wire_format::require(out.size() >= length, "tcp::write_options: buffer shorter than the options");
    wire_format::require(o.sack_count <= max_sack_blocks, "tcp::write_options: more than 4 SACK blocks");
    option_writer w(out);
    if (o.mss) {
        w.u8(option_kind::mss), w.u8(option_length::mss), w.u16(*o.mss);
    }
    if (o.timestamps) {
        if (o.sack_permitted)
            w.u8(option_kind::sack_permitted), w.u8(option_length::sack_permitted);
        else
            w.u8(option_kind::nop), w.u8(option_kind::nop);
        w.u8(option_kind::timestamps), w.u8(option_length::timestamps);
        w.u32(o.timestamps->value), w.u32(o.timestamps->echo_reply);
    } else if (o.sack_permitted) {
        w.u8(option_kind::nop), w.u8(option_kind::nop);
        w.u8(option_kind::sack_permitted), w.u8(option_length::sack_permitted);
    }
    if (o.window_scale) {
        w.u8(option_kind::nop), w.u8(option_kind::window_scale), w.u8(option_length::window_scale);
        w.u8(*o.window_scale);
    }
    if (o.sack_count != 0) {
        w.u8(option_kind::nop), w.u8(option_kind::nop), w.u8(option_kind::sack);
        w.u8(static_cast<std::uint8_t>(option_length::sack_base +
                                       option_length::sack_block * o.sack_count));
        for (const auto& b : o.sacks())
            w.u32(b.left), w.u32(b.right);
    }
    // Every option above keeps the total a multiple of 4; were it not, EOL (zero) pads it.
    while (w.written() % 4 != 0)
        w.u8(option_kind::end);
    return w.written();
}

parse_result<repr, parse_error> parse(view segment, addresses ip, parse_options options) noexcept {
    // RFC 9293 §3.1: the checksum is the 16-bit one's complement of the one's complement sum
    // of all 16-bit words in the pseudo-header, header and text; the pseudo-header's TCP
    // length is that of header and data together.
    if (options.verify_checksum) {
        const auto length = static_cast<std::uint16_t>(segment.bytes().size());
        checksum::partial sum(checksum::pseudo_header_sum(ip, ip_protocol, length));
        if (sum.add(segment.bytes()).sum() != 0xffff) return parse_error::bad_checksum;
    }
    auto opts = read_options(segment.options());
    if (!opts) return opts.reason();
    repr r;
    r.source_port = segment.source_port();
    r.destination_port = segment.destination_port();
    r.sequence = segment.sequence();
    r.acknowledgment = segment.acknowledgment();
    r.flags = segment.flags();
    r.window = segment.window();
    r.urgent_pointer = segment.urgent_pointer();
    r.options = *opts;
    r.payload_length = static_cast<std::uint16_t>(segment.payload().size());
    return r;
}

parse_result<repr, parse_error> parse(std::span<const std::byte> segment, addresses ip,
                                      parse_options options) noexcept {
    auto v = view::check(segment);
    if (!v) return v.reason();
    return parse(*v, ip, options);
}

std::size_t emit_header(const repr& r, std::span<std::byte> header, addresses ip,
                        std::uint16_t payload_sum) {
    const std::size_t header_len = r.header_length();
    wire_format::require(header_len <= max_header_length, "tcp::emit: options above 40 bytes");
    wire_format::require(header.size() >= header_len, "tcp::emit: buffer shorter than the header");
    wire_format::require(r.buffer_len() <= max_segment_length, "tcp::emit: segment above 65535 bytes");
    store_be16(header.subspan(field::source_port), r.source_port.value());
    store_be16(header.subspan(field::destination_port), r.destination_port.value());
    store_be32(header.subspan(field::sequence), r.sequence);
    store_be32(header.subspan(field::acknowledgment), r.acknowledgment);
    header[field::data_offset] = std::byte{static_cast<std::uint8_t>(header_len / 4 << 4)};
    header[field::flags] = std::byte{static_cast<std::uint8_t>(r.flags)};
    store_be16(header.subspan(field::window), r.window);
    store_be16(header.subspan(field::checksum), 0);
    store_be16(header.subspan(field::urgent_pointer), r.urgent_pointer);
    write_options(r.options, header.subspan(field::options));
    checksum::partial sum(
        checksum::pseudo_header_sum(ip, ip_protocol, static_cast<std::uint16_t>(r.buffer_len())));
    sum.add(header.first(header_len)).add_sum(payload_sum);
    store_be16(header.subspan(field::checksum), sum.checksum());
    return header_len;
}

std::size_t emit(const repr& r, std::span<std::byte> out, addresses ip) {
    wire_format::require(out.size() >= r.buffer_len(), "tcp::emit: buffer shorter than the segment");
    return emit_header(r, out, ip, checksum::sum(out.subspan(r.header_length(), r.payload_length)));
}

} // namespace coronet::tcp
