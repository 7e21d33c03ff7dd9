#include "drivers/tap/tap_device.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace coronet {

namespace {

// The largest frame the kernel builds once TUN_F_TSO4 is on: a 64 KiB IPv4 datagram in an
// Ethernet frame, after the virtio header.
constexpr std::size_t max_gso_frame_bytes = vnet_header_bytes + 14 + 65535;

const char* const need_cap =
    " needs CAP_NET_ADMIN in the current network namespace (run as root or grant the "
    "capability)";

[[noreturn]] void fail(int code, const std::string& what) {
    throw std::system_error(code, std::generic_category(), what);
}

// Closes a descriptor on every path out of open().
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

ifreq request_for(const std::string& name) {
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), std::min(name.size(), std::size_t{IFNAMSIZ - 1}));
    return ifr;
}

// An ioctl on the interface through a socket of the current namespace.
void interface_ioctl(int sock, unsigned long op, ifreq& ifr, const char* op_name) {
    if (::ioctl(sock, op, &ifr) == 0) return;
    int e = errno;
    std::string what = std::string("coronet: ") + op_name + " on " + ifr.ifr_name;
    if (e == EPERM) what += need_cap;
    fail(e, what);
}

void set_interface(const std::string& name, const tap_options& o) {
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail(errno, "coronet: socket(AF_INET) to configure " + name);
    fd_guard guard{sock};
    if (o.kernel_mac) {
        ifreq ifr = request_for(name);
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        for (std::size_t i = 0; i < mac_address::size; ++i)
            ifr.ifr_hwaddr.sa_data[i] = static_cast<char>(o.kernel_mac->octets()[i]);
        interface_ioctl(sock, SIOCSIFHWADDR, ifr, "SIOCSIFHWADDR");
    }
    ifreq mtu = request_for(name);
    mtu.ifr_mtu = static_cast<int>(o.mtu);
    interface_ioctl(sock, SIOCSIFMTU, mtu, "SIOCSIFMTU");
    if (o.link_up) {
        ifreq flags = request_for(name);
        interface_ioctl(sock, SIOCGIFFLAGS, flags, "SIOCGIFFLAGS");
        flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
        interface_ioctl(sock, SIOCSIFFLAGS, flags, "SIOCSIFFLAGS");
    }
}

// Asks for `wanted`, dropping TSO, then checksum offload, if the kernel refuses them.
unsigned set_offloads(int fd, const std::string& name, unsigned wanted) {
    const unsigned tries[] = {wanted, wanted & TUN_F_CSUM, 0u};
    for (unsigned ask : tries) {
        if (::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(ask)) == 0) return ask;
        if (errno != EINVAL) fail(errno, "coronet: TUNSETOFFLOAD on " + name);
    }
    fail(EINVAL, "coronet: TUNSETOFFLOAD on " + name + " refuses even no offloads");
}

} // namespace

tap_device tap_device::open(const tap_options& o, std::size_t rx_frame_bytes) {
    if (o.name.size() >= IFNAMSIZ)
        fail(EINVAL, "coronet: interface name \"" + o.name + "\" is longer than " +
                         std::to_string(IFNAMSIZ - 1) + " bytes");
    if (o.mode == tap_open_mode::attach && ::if_nametoindex(o.name.c_str()) == 0)
        fail(ENODEV, "coronet: no TAP device named \"" + o.name +
                         "\" to attach to in this network namespace");

    fd_guard fd{::open(o.tun_path.c_str(), O_RDWR | O_CLOEXEC)};
    if (fd.fd < 0) {
        int e = errno;
        std::string what = "coronet: cannot open the tun/tap control device " + o.tun_path;
        if (e == ENOENT)
            what += " (no such file: load the tun module, or create the node: mknod c 10 200)";
        if (e == EACCES || e == EPERM)
            what += " (permission denied: it" + std::string(need_cap) + ")";
        fail(e, what);
    }

    ifreq ifr = request_for(o.name);
    unsigned flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (o.mode == tap_open_mode::create) flags |= IFF_TUN_EXCL;
    ifr.ifr_flags = static_cast<short>(flags);
    if (::ioctl(fd.fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        std::string what = "coronet: TUNSETIFF " + o.name + ": ";
        if (e == EPERM)
            what += std::string("creating or attaching a TAP device") + need_cap;
        else if (e == EBUSY)
            what += o.mode == tap_open_mode::create
                        ? "a device of that name exists already (open mode create)"
                        : "the device is in use by another process";
        else if (e == EINVAL)
            what += "the device exists and is not a single-queue TAP device";
        else
            what += "the kernel refused the device";
        fail(e, what);
    }

    tap_device d;
    d.name_ = ifr.ifr_name;
    int hdr = static_cast<int>(vnet_header_bytes);
    if (::ioctl(fd.fd, TUNSETVNETHDRSZ, &hdr) != 0)
        fail(errno, "coronet: TUNSETVNETHDRSZ 10 on " + d.name_);

    unsigned wanted = 0;
    if (o.checksum_offload) wanted |= TUN_F_CSUM;
    if (o.checksum_offload && o.tso && rx_frame_bytes >= max_gso_frame_bytes) wanted |= TUN_F_TSO4;
    d.offloads_ = set_offloads(fd.fd, d.name_, wanted);

    set_interface(d.name_, o);
    d.ifindex_ = static_cast<int>(::if_nametoindex(d.name_.c_str()));
    d.fd_ = fd.release();
    return d;
}

tap_device::tap_device(tap_device&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), ifindex_(other.ifindex_), offloads_(other.offloads_),
      name_(std::move(other.name_)) {}

tap_device::~tap_device() {
    if (fd_ >= 0) ::close(fd_);
}

} // namespace coronet
