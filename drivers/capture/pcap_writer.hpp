#pragma once
// pcap_writer: classic libpcap files (magic 0xa1b2c3d4, version 2.4, LINKTYPE_ETHERNET,
// snaplen 262144, microsecond timestamps), written in the host's byte order as libpcap does
// (readers tell the order from the magic). Timestamps are the caller's clock: on the
// virtual clock a capture starts at the epoch, which tshark shows as 1970.
//
// A record's bytes are gathered from the packet's slices as they are: nothing is copied
// into a staging buffer, and a frame sent with checksum offload (needs_csum) is written with
// its checksum not yet filled in, exactly as tcpdump shows such frames on Linux.
#include "framework/buffer/packet.hpp"
#include "framework/clock.hpp"
#include "framework/result.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>

namespace coronet {

class pcap_writer {
public:
    static constexpr std::uint32_t magic = 0xa1b2c3d4;
    static constexpr std::uint16_t version_major = 2;
    static constexpr std::uint16_t version_minor = 4;
    static constexpr std::uint32_t snaplen = 262144;
    static constexpr std::uint32_t linktype_ethernet = 1;

    // Creates (truncates) the file and writes the file header; std::system_error on failure.
    explicit pcap_writer(const std::filesystem::path& path);
    ~pcap_writer();
    pcap_writer(const pcap_writer&) = delete;
    pcap_writer& operator=(const pcap_writer&) = delete;

    // One record; frames longer than snaplen are cut there (the record keeps the full
    // length). EIO (or the errno of the failed write) when the file cannot take it.
    result<> write(const packet& frame, time_point when);
    // Pushes buffered records to the file (to read it while it is still being written).
    result<> flush();

    std::uint64_t records() const noexcept { return records_; }

private:
    std::FILE* file_;
    std::uint64_t records_ = 0;
};

} // namespace coronet
