#include "drivers/capture/pcap_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace coronet {

namespace {

struct file_header {
    std::uint32_t magic;
    std::uint16_t version_major;
    std::uint16_t version_minor;
    std::int32_t thiszone;
    std::uint32_t sigfigs;
    std::uint32_t snaplen;
    std::uint32_t linktype;
};
static_assert(sizeof(file_header) == 24);

struct record_header {
    std::uint32_t ts_sec;
    std::uint32_t ts_usec;
    std::uint32_t incl_len;
    std::uint32_t orig_len;
};
static_assert(sizeof(record_header) == 16);

int write_error() { return errno != 0 ? errno : EIO; }

} // namespace

pcap_writer::pcap_writer(const std::filesystem::path& path)
    : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr)
        throw std::system_error(errno, std::generic_category(), "pcap_writer: " + path.string());
    const file_header h{magic, version_major, version_minor, 0, 0, snaplen, linktype_ethernet};
    if (std::fwrite(&h, sizeof h, 1, file_) != 1) {
        const int err = write_error();
        std::fclose(file_);
        throw std::system_error(err, std::generic_category(), "pcap_writer: " + path.string());
    }
}

pcap_writer::~pcap_writer() { std::fclose(file_); }

result<> pcap_writer::write(const packet& frame, time_point when) {
    const std::int64_t ns = std::max<std::int64_t>(when.since_epoch.count(), 0);
    const auto kept = static_cast<std::uint32_t>(std::min<std::size_t>(frame.length(), snaplen));
    const record_header r{static_cast<std::uint32_t>(ns / 1'000'000'000),
                          static_cast<std::uint32_t>(ns % 1'000'000'000 / 1000), kept,
                          static_cast<std::uint32_t>(frame.length())};
    errno = 0;
    if (std::fwrite(&r, sizeof r, 1, file_) != 1) return error{write_error()};
    std::size_t left = kept;
    for (auto bytes : frame.slices()) {
        if (left == 0) break;
        const std::size_t n = std::min(left, bytes.size());
        if (n > 0 && std::fwrite(bytes.data(), 1, n, file_) != n) return error{write_error()};
        left -= n;
    }
    ++records_;
    return {};
}

result<> pcap_writer::flush() {
    errno = 0;
    if (std::fflush(file_) != 0) return error{write_error()};
    return {};
}

} // namespace coronet
